/** Routes, lazy-loaded per screen; the login page is the only one open to everyone. */
import { createRouter, createWebHistory, type RouteRecordRaw, type Router } from 'vue-router'
import type { Api } from './api/client'
import type { Early } from './early'
import { useAuthStore } from './stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    admin?: boolean
    /** The GETs the screen makes first, sent at boot beside the session check (early.ts). */
    prefetch?: (api: Api) => void
  }
}

/**
 * What the Overview asks first (tests/early.test.ts keeps this list true): what its
 * account cards and trading state wait for, then the rest. A browser opens six
 * connections to a server, so the order is the order they are answered in.
 */
export function overviewRequests(api: Api): void {
  void api.accounts()
  void api.riskState()
  void api.positions()
  void api.nodes()
  void api.trades(10)
  void api.decisions({ verdict: 'rejected', limit: 10 })
  void api.agentStatus()
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/', name: 'overview', component: () => import('./views/OverviewView.vue'), meta: { prefetch: overviewRequests } },
  { path: '/market', name: 'market', component: () => import('./views/MarketView.vue') },
  { path: '/trading', name: 'trading', component: () => import('./views/TradingView.vue') },
  { path: '/decisions', name: 'decisions', component: () => import('./views/DecisionsView.vue') },
  { path: '/agent', name: 'agent', component: () => import('./views/AgentView.vue') },
  { path: '/backtests', name: 'backtests', component: () => import('./views/BacktestsView.vue') },
  { path: '/replay', name: 'replay', component: () => import('./views/ReplayView.vue') },
  { path: '/admin', name: 'admin', component: () => import('./views/AdminView.vue'), meta: { admin: true } },
  { path: '/kill', name: 'kill', component: () => import('./views/KillView.vue') },
  { path: '/notifications', name: 'notifications', component: () => import('./views/NotificationsView.vue') },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory(), routes })

/**
 * Start loading the screen at ``path`` (its code and its first requests) without
 * waiting for the session check that the navigation guard makes first. Nothing is
 * sent for the public pages; a page that turns out to need a login only costs the
 * early requests' 401s.
 */
export function preloadRoute(target: Router, path: string, early: Early): void {
  const route = target.resolve(path)
  if (route.meta.public) return
  for (const record of route.matched) {
    const component = record.components?.default
    // A lazy route's component is its loader; the module is cached, so the router's own
    // call later gets the same, by then loaded, module.
    if (typeof component === 'function') {
      void (component as () => Promise<unknown>)().catch(() => undefined)
    }
  }
  const prefetch = route.meta.prefetch
  if (prefetch) early.start(prefetch)
}

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  if (!auth.checked) {
    try {
      await auth.check()
    } catch {
      // the server is unreachable: the login page says so when it is tried
    }
  }
  if (to.meta.public) return auth.loggedIn && to.name === 'login' ? { path: '/' } : true
  if (!auth.loggedIn) return { name: 'login', query: { redirect: to.fullPath } }
  if (to.meta.admin && !auth.can('admin')) return { path: '/' }
  return true
})
