/** A config built by a function of the phase: not a literal we can edit safely. */
module.exports = (phase) => ({
  reactStrictMode: true,
  output: 'standalone',
});
