/** @type {import('next').NextConfig} */
// Legacy Docker deployment: `standalone` copies a minimal server into
// .next/standalone so the runtime image does not need node_modules.
// CUSTOM_KEY is read from the container environment at build time and
// inlined into the client bundle.
const nextConfig = {
  output: 'standalone',
  reactStrictMode: true,
  poweredByHeader: false,
  env: {
    CUSTOM_KEY: process.env.CUSTOM_KEY,
  },
}

module.exports = nextConfig
