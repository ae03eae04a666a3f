import { getHealth, listAgents } from './api.ts'
import './style.css'

const title = import.meta.env.VITE_APP_TITLE || 'Orchestra Admin'
document.title = title
const heading = document.querySelector<HTMLHeadingElement>('#app-title')
if (heading) heading.textContent = title

async function renderHealth(): Promise<void> {
  const el = document.querySelector<HTMLParagraphElement>('#health')
  if (!el) return
  try {
    const health = await getHealth()
    el.textContent = `API ${health.status}${health.version ? ` (v${health.version})` : ''}`
    el.className = health.status === 'ok' ? 'ok' : 'degraded'
  } catch (error) {
    el.textContent = `API unreachable: ${(error as Error).message}`
    el.className = 'down'
  }
}

async function renderAgents(): Promise<void> {
  const list = document.querySelector<HTMLUListElement>('#agents')
  if (!list) return
  try {
    const agents = await listAgents()
    list.replaceChildren(
      ...agents.map((agent) => {
        const item = document.createElement('li')
        item.textContent = `${agent.name} — ${agent.status}`
        item.dataset.status = agent.status
        return item
      }),
    )
  } catch {
    list.innerHTML = '<li>Could not load agents.</li>'
  }
}

void renderHealth()
void renderAgents()
setInterval(() => void renderHealth(), 30_000)
