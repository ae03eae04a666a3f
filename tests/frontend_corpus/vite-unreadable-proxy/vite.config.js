import { defineConfig } from 'vite'
import { proxyTable } from './proxy-table.js'

export default defineConfig({
  server: {
    proxy: proxyTable,
  },
})
