import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { createApi, installApi, onUnauthorized } from './api/client'
import { createEarly } from './early'
import { i18n } from './i18n'
import { preloadRoute, router } from './router'
import { useAuthStore } from './stores/auth'
import { streamOptions, useQuotesStore } from './stores/quotes'
import './style.css'

// Before anything else: the screen's code and first requests go out now, beside the
// session check that the router's first navigation makes (see early.ts).
const early = createEarly()
installApi(createApi({ fetch: early.fetch }))
early.start((api) => void api.me()) // first: every screen's guard waits for it
preloadRoute(router, window.location.pathname + window.location.search + window.location.hash, early)

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(i18n).use(router)

// A 401 anywhere (REST or the stream) means the session is over: back to the login page.
function sessionEnded(): void {
  const auth = useAuthStore(pinia)
  if (!auth.loggedIn && router.currentRoute.value.name === 'login') return
  auth.expired()
  useQuotesStore(pinia).stop()
  const here = router.currentRoute.value
  if (here.name !== 'login') void router.push({ name: 'login', query: { redirect: here.fullPath } })
}
onUnauthorized(sessionEnded)
streamOptions.onUnauthorized = sessionEnded

document.documentElement.lang = i18n.global.locale.value
app.mount('#app')
