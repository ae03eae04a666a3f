const nextConfig = {
  reactStrictMode: true,
  images: { domains: ['cdn.example.com'] ,
  output: 'standalone',

module.exports = nextConfig
