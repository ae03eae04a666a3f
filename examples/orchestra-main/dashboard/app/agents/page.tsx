'use client'

import { useEffect, useState } from 'react'
import { apiGet, type Agent } from '../../lib/api'

export default function AgentsPage() {
  const [agents, setAgents] = useState<Agent[]>([])
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    apiGet<Agent[]>('/api/agents')
      .then(setAgents)
      .catch((e: Error) => setError(e.message))
  }, [])

  return (
    <section>
      <h1>Agents</h1>
      {error && <p className="down">Could not load agents: {error}</p>}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Last run</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((agent) => (
            <tr key={agent.id}>
              <td>{agent.name}</td>
              <td>{agent.status}</td>
              <td>{agent.last_run ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
