module.exports = { reactStrictMode: true }
export default { output: 'standalone' }
