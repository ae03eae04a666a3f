// The API base comes from the build; the proxy serves /backend in development.
const base = import.meta.env.VITE_API_URL
const adminKey: string = import.meta.env.VITE_ADMIN_API_KEY

export async function listEntries(): Promise<unknown[]> {
  const answer = await fetch(`${base}/backend/entries`, { headers: { 'X-Admin': adminKey } })
  return answer.json()
}
