export function banner(text) {
  return `*** ${text} ***`
}
