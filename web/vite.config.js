// The client is built into dist/ (make web) and served by the gateway at / (gateway/web_client.py);
// hashed file names under /assets/ are cached for good, index.html never.
import { defineConfig } from 'vite'

export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 300,
  },
  server: {
    // `npx vite` during development: the API of `make run`
    proxy: { '/api': 'http://localhost:8000' },
  },
})
