import { defineConfig } from 'vite'

// The console is mounted under /admin/ behind the company portal.
export default defineConfig({
  base: '/admin/',
  server: {
    port: 4173,
    proxy: {
      // The ledger service: every call the console makes starts with /backend.
      '/backend': {
        target: 'http://127.0.0.1:8080',
        changeOrigin: true,
      },
      // Uploaded receipts, served by the same service.
      '^/files/.*': 'http://127.0.0.1:8080',
    },
  },
  build: {
    outDir: 'dist',
  },
})
