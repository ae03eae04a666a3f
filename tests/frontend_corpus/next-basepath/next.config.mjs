/** @type {import('next').NextConfig} */
const nextConfig = {
  basePath: '/portal',
  output: 'standalone',
  async rewrites() {
    return [
      // The partner service answers everything under /svc.
      { source: '/svc/:path*', destination: `${process.env.PARTNER_SERVICE_URL ?? 'https://partners.internal'}/:path*` },
      // An old page name of this app.
      { source: '/about-us', destination: '/about' },
    ]
  },
}

export default nextConfig
