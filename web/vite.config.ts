/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, URL } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import vue from '@vitejs/plugin-vue'
import { type HtmlTagDescriptor, type Plugin, defineConfig } from 'vite'

/**
 * ``<link rel="modulepreload">`` in ``index.html`` for the chunks of the screen most
 * loads open (the Overview at ``/``) and everything they import, so the browser fetches
 * them together with the app's own code instead of after the session check.
 */
function preloadScreen(entry: string): Plugin {
  return {
    name: 'aigupiao:preload-screen',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, context) {
        const bundle = context.bundle
        if (!bundle) return html
        const chunks = Object.values(bundle).filter((item) => item.type === 'chunk')
        const start = chunks.find((chunk) => chunk.facadeModuleId?.endsWith(entry))
        if (!start) throw new Error(`preloadScreen: no chunk for ${entry}`)
        const files = new Set<string>()
        const css = new Set<string>()
        const visit = (fileName: string): void => {
          if (files.has(fileName)) return
          files.add(fileName)
          const chunk = bundle[fileName]
          if (chunk?.type !== 'chunk') return
          for (const file of chunk.viteMetadata?.importedCss ?? []) css.add(file)
          for (const imported of chunk.imports) visit(imported)
        }
        visit(start.fileName)
        const tags: HtmlTagDescriptor[] = []
        for (const file of files) {
          if (html.includes(`/${file}"`)) continue
          tags.push({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/${file}` }, injectTo: 'head' })
        }
        for (const file of css) {
          if (html.includes(`/${file}"`)) continue
          tags.push({ tag: 'link', attrs: { rel: 'stylesheet', crossorigin: true, href: `/${file}` }, injectTo: 'head' })
        }
        return { html, tags }
      },
    },
  }
}

// `npm run dev` proxies the API to a running cloud (default `aigupiao up` on :8000).
// AIGUPIAO_DEV_API_KEY (dev only, never bundled) is added by the proxy so the dashboard
// can read data before a user exists; the browser itself only ever uses the session cookie.
const target = process.env.AIGUPIAO_API ?? 'http://127.0.0.1:8000'
const devKey = process.env.AIGUPIAO_DEV_API_KEY
const headers: Record<string, string> = devKey ? { 'X-API-Key': devKey } : {}

/**
 * ``name.br`` and ``name.gz`` beside each script and stylesheet worth it, compressed
 * once at build time at the highest level; the cloud sends the one the browser accepts
 * (cloud/dashboard.py), so no request pays for compression.
 */
function precompress(minBytes = 1024): Plugin {
  return {
    name: 'aigupiao:precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir ?? ''
      for (const item of Object.values(bundle)) {
        if (!/\.(js|css)$/.test(item.fileName)) continue
        const source = item.type === 'chunk' ? Buffer.from(item.code) : Buffer.from(item.source)
        if (source.length < minBytes) continue
        const path = join(dir, item.fileName)
        writeFileSync(`${path}.gz`, gzipSync(source, { level: 9 }))
        writeFileSync(`${path}.br`, brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }))
      }
    },
  }
}

export default defineConfig({
  plugins: [vue(), preloadScreen('/src/views/OverviewView.vue'), precompress()],
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
