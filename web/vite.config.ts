/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// `npm run dev` proxies the API to a running cloud (default `aigupiao up` on :8000).
// AIGUPIAO_DEV_API_KEY (dev only, never bundled) is added by the proxy so the dashboard
// can read data before a user exists; the browser itself only ever uses the session cookie.
const target = process.env.AIGUPIAO_API ?? 'http://127.0.0.1:8000'
const devKey = process.env.AIGUPIAO_DEV_API_KEY
const headers: Record<string, string> = devKey ? { 'X-API-Key': devKey } : {}

export default defineConfig({
  plugins: [vue()],
  base: '/',
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: '../src/aigupiao/cloud/static',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) {
            return 'echarts'
          }
          if (id.includes('node_modules/')) return 'vendor'
          return undefined
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target, changeOrigin: false, ws: true, headers },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
  },
})
