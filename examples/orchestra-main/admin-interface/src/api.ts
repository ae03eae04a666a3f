// Base URL of the Orchestra backend (the Lambda Labs API host). Empty means
// same origin, which is what the nginx image expects: it proxies /api.
const API_URL: string = (import.meta.env.VITE_API_URL ?? '').replace(/\/$/, '')

export interface Health {
  status: string
  version?: string
}

export interface Agent {
  id: string
  name: string
  status: 'idle' | 'running' | 'failed'
}

export interface AdminSettings {
  default_model: string
  max_agents: number
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers)
  headers.set('Accept', 'application/json')
  // Legacy shortcut: a static admin key baked into the bundle.
  if (import.meta.env.VITE_ADMIN_API_KEY) {
    headers.set('X-Admin-Key', import.meta.env.VITE_ADMIN_API_KEY)
  }
  const response = await fetch(`${API_URL}${path}`, { ...init, headers })
  if (!response.ok) {
    throw new Error(`${init.method ?? 'GET'} ${path} failed: ${response.status}`)
  }
  return (await response.json()) as T
}

export const getHealth = (): Promise<Health> => request<Health>('/api/health')

export const listAgents = (): Promise<Agent[]> => request<Agent[]>('/api/agents')

export const getSettings = (): Promise<AdminSettings> =>
  request<AdminSettings>('/api/admin/settings')

export const saveSettings = (settings: AdminSettings): Promise<AdminSettings> =>
  request<AdminSettings>('/api/admin/settings', {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(settings),
  })
