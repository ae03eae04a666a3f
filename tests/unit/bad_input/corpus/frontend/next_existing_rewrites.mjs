export default {
  async rewrites() {
    return [{ source: '/docs/:path*', destination: 'https://docs.example.com/:path*' }]
  },
}
