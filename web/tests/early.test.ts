import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createApi, onUnauthorized } from '../src/api/client'
import { createEarly, EARLY_MS } from '../src/early'
import { i18n } from '../src/i18n'
import { overviewRequests } from '../src/router'
import OverviewView from '../src/views/OverviewView.vue'
import { detail, eventually, fakeApi } from './helpers'

const BASE = 'http://cloud.test'

/** A network that counts what reaches it and answers each GET with its own path. */
function network() {
  const asked: string[] = []
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init)
    asked.push(`${request.method} ${request.url}`)
    if (request.url.endsWith('/api/auth/me')) {
      return Response.json(detail('unauthorized', '请登录', 'log in'), { status: 401 })
    }
    return Response.json([{ asked: asked.length }])
  })
  return { asked, fetchFn: fetchFn as typeof fetch }
}

beforeEach(() => {
  setActivePinia(createPinia())
  onUnauthorized(null)
})

describe('early requests', () => {
  it('answers the app once from a request sent early, then from the network', async () => {
    const { asked, fetchFn } = network()
    const early = createEarly(fetchFn, () => 0, BASE)
    early.start((api) => void api.accounts())
    await eventually(() => expect(asked).toEqual([`GET ${BASE}/api/accounts`]))
    expect(early.pending()).toEqual([`GET ${BASE}/api/accounts`])

    const api = createApi({ baseUrl: BASE, fetch: early.fetch })
    expect(await api.accounts()).toEqual([{ asked: 1 }]) // the early answer
    expect(asked).toHaveLength(1)
    expect(early.pending()).toEqual([])
    expect(await api.accounts()).toEqual([{ asked: 2 }]) // taken once only
    expect(asked).toHaveLength(2)
  })

  it('drops an early answer nobody took in time', async () => {
    const { asked, fetchFn } = network()
    let clock = 0
    const early = createEarly(fetchFn, () => clock, BASE)
    early.start((api) => void api.nodes())
    await eventually(() => expect(asked).toHaveLength(1))
    clock = EARLY_MS + 1
    expect(early.pending()).toEqual([])
    const api = createApi({ baseUrl: BASE, fetch: early.fetch })
    expect(await api.nodes()).toEqual([{ asked: 2 }])
  })

  it('never reuses a refusal: a 401 sent before the login is asked again', async () => {
    const { asked, fetchFn } = network()
    const lost = vi.fn()
    onUnauthorized(lost)
    const early = createEarly(fetchFn, () => 0, BASE)
    early.start((api) => void api.me())
    await eventually(() => expect(asked).toHaveLength(1))
    await Promise.resolve()
    expect(lost).not.toHaveBeenCalled() // the early client keeps its answers to itself
    const api = createApi({ baseUrl: BASE, fetch: early.fetch })
    await expect(api.me()).rejects.toMatchObject({ status: 401 })
    expect(asked).toHaveLength(2)
    expect(lost).toHaveBeenCalledTimes(1)
  })

  it('never answers a write from an early request', async () => {
    const { asked, fetchFn } = network()
    const early = createEarly(fetchFn, () => 0, BASE)
    early.start((api) => void api.logout())
    await Promise.resolve()
    expect(asked).toEqual([])
    expect(early.pending()).toEqual([])
  })

  it("asks only what the Overview asks on its first load, its cards' data included", async () => {
    const account = { id: 'paper-1', node_id: 'local-1', paper: true, cash: '100000.00', equity: '100000.00', market_value: '0.00' }
    const { calls } = fakeApi({
      'GET /api/accounts': () => ({ body: [account] }),
      'GET /api/positions': () => ({ body: [] }),
      'GET /api/nodes': () => ({ body: [] }),
      'GET /api/trades': () => ({ body: [] }),
      'GET /api/commands': () => ({ body: [] }),
      'GET /api/decisions': () => ({ body: [] }),
      'GET /api/agent/status': () => ({ body: { running: true, interval_s: 3, last_run_at: null, last_duration_ms: null, strategies_loaded: [], errors: [] } }),
      'GET /api/risk/state': () => ({ body: { global: { state: 'active', changed_at: null, actor: '', reason: '' }, accounts: {} } }),
    })
    const page = mount(OverviewView, { global: { plugins: [i18n] } })
    try {
      await eventually(() => expect(page.find('[data-testid="account-card"]').exists()).toBe(true))
      await eventually(() => expect(calls.some((call) => call.path === '/api/agent/status')).toBe(true))
      const screen = new Set(calls.filter((call) => call.method === 'GET').map((call) => `${call.path}?${call.query}`))

      const { asked, fetchFn } = network()
      createEarly(fetchFn, () => 0, BASE).start(overviewRequests)
      await eventually(() => expect(asked.length).toBeGreaterThan(0))
      const sent = asked.map((line) => {
        const url = new URL(line.slice('GET '.length))
        return `${url.pathname}?${url.searchParams}`
      })
      for (const request of sent) expect(screen, `${request} is sent early but the Overview never asks it`).toContain(request)
      expect(sent).toEqual(expect.arrayContaining(['/api/accounts?', '/api/risk/state?']))
    } finally {
      page.unmount()
    }
  })
})
