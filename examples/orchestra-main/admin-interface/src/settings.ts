import { getSettings, saveSettings } from './api.ts'
import './style.css'

const form = document.querySelector<HTMLFormElement>('#settings-form')
const status = document.querySelector<HTMLParagraphElement>('#status')

async function load(): Promise<void> {
  if (!form) return
  const settings = await getSettings()
  ;(form.elements.namedItem('default_model') as HTMLInputElement).value = settings.default_model
  ;(form.elements.namedItem('max_agents') as HTMLInputElement).value = String(settings.max_agents)
}

form?.addEventListener('submit', (event) => {
  event.preventDefault()
  const data = new FormData(form)
  saveSettings({
    default_model: String(data.get('default_model') ?? ''),
    max_agents: Number(data.get('max_agents') ?? 1),
  })
    .then(() => {
      if (status) status.textContent = 'Saved.'
    })
    .catch((error: Error) => {
      if (status) status.textContent = `Save failed: ${error.message}`
    })
})

load().catch((error: Error) => {
  if (status) status.textContent = `Could not load settings: ${error.message}`
})
