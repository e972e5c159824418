/**
 * Who is logged in. The session lives in an HttpOnly cookie the server sets; this
 * store only knows the user it names, and what their role may do.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, useApi } from '../api/client'
import type { Role, User } from '../api/types'

const RANK: Record<Role, number> = { viewer: 0, trader: 1, admin: 2 }

export type Ability = 'read' | 'trade' | 'admin'

const NEEDS: Record<Ability, Role> = { read: 'viewer', trade: 'trader', admin: 'admin' }

export const useAuthStore = defineStore('auth', () => {
  const user = ref<User | null>(null)
  /** Whether ``/api/auth/me`` has been asked since the page loaded. */
  const checked = ref(false)

  const loggedIn = computed(() => user.value !== null)
  const role = computed<Role | null>(() => user.value?.role ?? null)

  function can(ability: Ability): boolean {
    const current = role.value
    return current !== null && RANK[current] >= RANK[NEEDS[ability]]
  }

  /** Ask the server who the cookie belongs to; a 401 means nobody. */
  async function check(): Promise<User | null> {
    try {
      user.value = await useApi().me()
    } catch (exc) {
      if (!(exc instanceof ApiError)) throw exc
      if (import.meta.env.DEV && exc.status === 404) {
        // Development against a cloud without user accounts yet (the Vite proxy adds
        // an API key): act as a local admin. Never part of a production build.
        user.value = { username: 'dev', role: 'admin' }
      } else {
        user.value = null
        if (exc.status !== 401) throw exc
      }
    } finally {
      checked.value = true
    }
    return user.value
  }

  /** Log in; throws the server's ApiError (bad_credentials, too_many_attempts). */
  async function login(username: string, password: string): Promise<User> {
    const answer = await useApi().login(username, password)
    user.value = { ...answer.user, expires_at: answer.expires_at }
    checked.value = true
    return user.value
  }

  async function logout(): Promise<void> {
    try {
      await useApi().logout()
    } catch (exc) {
      if (!(exc instanceof ApiError) || exc.status !== 401) throw exc
    } finally {
      user.value = null
    }
  }

  /** The session ended on the server (a 401 somewhere). */
  function expired(): void {
    user.value = null
  }

  return { user, checked, loggedIn, role, can, check, login, logout, expired }
})
