import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The admin console is a multi-page app: besides index.html there is a
// standalone settings page, so both HTML files are registered as inputs.
export default defineConfig({
  server: {
    port: 5173,
    proxy: {
      // Local development only; the Docker image proxies /api in nginx.conf.
      '/api': {
        target: 'http://localhost:8000',
        changeOrigin: true,
      },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        settings: fileURLToPath(new URL('./settings.html', import.meta.url)),
      },
    },
  },
})
