import { listEntries } from './client'

const root = document.getElementById('root')
const mode = import.meta.env.VITE_THEME || 'light'
listEntries().then((entries) => {
  if (root) root.textContent = `${entries.length} entries (${mode})`
})
