import { defineConfig } from 'vite'

export default defineConfig({
  server: {
    proxy: {
      '/rpc': { target: 'http://127.0.0.1:7000', rewrite: (path) => path.replace(/^\/rpc/, '') },
    },
  },
  build: { outDir: 'public-build' },
})
