'use client'

import { useEffect, useState } from 'react'
import { apiGet, type Health } from '../lib/api'

export default function OverviewPage() {
  const [health, setHealth] = useState<Health | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let cancelled = false
    const load = () =>
      apiGet<Health>('/api/health')
        .then((h) => {
          if (!cancelled) {
            setHealth(h)
            setError(null)
          }
        })
        .catch((e: Error) => {
          if (!cancelled) setError(e.message)
        })
    void load()
    const timer = setInterval(load, 30_000)
    return () => {
      cancelled = true
      clearInterval(timer)
    }
  }, [])

  return (
    <section>
      <h1>Overview</h1>
      {error && <p className="down">Backend unreachable: {error}</p>}
      {!error && !health && <p>Checking backend…</p>}
      {health && (
        <p className={health.status === 'ok' ? 'ok' : 'degraded'}>
          Backend {health.status}
          {health.version ? ` (v${health.version})` : ''}
        </p>
      )}
      <p className="muted">Build key: {process.env.CUSTOM_KEY ?? 'unset'}</p>
    </section>
  )
}
