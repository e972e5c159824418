/** Routes, lazy-loaded per screen; the login page is the only one open to everyone. */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useAuthStore } from './stores/auth'

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/', name: 'overview', component: () => import('./views/OverviewView.vue') },
  { path: '/market', name: 'market', component: () => import('./views/MarketView.vue') },
  { path: '/trading', name: 'trading', component: () => import('./views/TradingView.vue') },
  { path: '/decisions', name: 'decisions', component: () => import('./views/DecisionsView.vue') },
  { path: '/agent', name: 'agent', component: () => import('./views/AgentView.vue') },
  { path: '/admin', name: 'admin', component: () => import('./views/AdminView.vue'), meta: { admin: true } },
  { path: '/kill', name: 'kill', component: () => import('./views/KillView.vue') },
  { path: '/notifications', name: 'notifications', component: () => import('./views/NotificationsView.vue') },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory(), routes })

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
