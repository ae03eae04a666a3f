// Base URL of the Orchestra backend (the Lambda Labs API host). Inlined at
// build time because it is a NEXT_PUBLIC_* variable.
export const API_URL: string = (process.env.NEXT_PUBLIC_API_URL ?? '').replace(/\/$/, '')

export interface Health {
  status: string
  version?: string
}

export interface Agent {
  id: string
  name: string
  status: 'idle' | 'running' | 'failed'
  last_run?: string
}

export async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${API_URL}${path}`, {
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  })
  if (!response.ok) {
    throw new Error(`GET ${path} failed: ${response.status}`)
  }
  return (await response.json()) as T
}
