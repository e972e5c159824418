import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, onUnauthorized } from '../src/api/client'
import { useAuthStore } from '../src/stores/auth'
import { detail, fakeApi } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
  onUnauthorized(null)
})

describe('auth store', () => {
  it('logs in, knows the role and what it may do', async () => {
    const { calls } = fakeApi({
      'POST /api/auth/login': (call) => {
        const body = call.body as { username: string; password: string }
        return body.password === 'right'
          ? { body: { user: { username: body.username, role: 'trader' }, expires_at: '2026-11-25T12:00:00Z', token: 'x' } }
          : { status: 401, body: detail('bad_credentials', '用户名或密码错误', 'wrong username or password') }
      },
    })
    const auth = useAuthStore()
    await expect(auth.login('li', 'wrong')).rejects.toMatchObject({ status: 401, detail: { code: 'bad_credentials' } })
    expect(auth.loggedIn).toBe(false)
    await auth.login('li', 'right')
    expect(auth.user).toEqual({ username: 'li', role: 'trader', expires_at: '2026-11-25T12:00:00Z' })
    expect(auth.can('read')).toBe(true)
    expect(auth.can('trade')).toBe(true)
    expect(auth.can('admin')).toBe(false)
    expect(calls.map((call) => call.path)).toEqual(['/api/auth/login', '/api/auth/login'])
  })

  it('a failed login does not count as a lost session', async () => {
    fakeApi({ 'POST /api/auth/login': () => ({ status: 401, body: detail('bad_credentials', '错', 'wrong') }) })
    const lost = vi.fn()
    onUnauthorized(lost)
    await expect(useAuthStore().login('a', 'b')).rejects.toBeInstanceOf(ApiError)
    expect(lost).not.toHaveBeenCalled()
  })

  it('asks who the cookie belongs to; 401 means nobody', async () => {
    let session = true
    fakeApi({
      'GET /api/auth/me': () =>
        session ? { body: { username: 'root', role: 'admin', expires_at: 'x' } } : { status: 401, body: detail('unauthorized', '请登录', 'log in') },
    })
    const auth = useAuthStore()
    expect(auth.checked).toBe(false)
    await auth.check()
    expect(auth.checked).toBe(true)
    expect(auth.can('admin')).toBe(true)
    session = false
    await auth.check()
    expect(auth.user).toBeNull()
    expect(auth.can('read')).toBe(false)
  })

  it('reports a 401 from any other call to the session handler', async () => {
    const { api } = fakeApi({ 'GET /api/accounts': () => ({ status: 401, body: detail('unauthorized', '会话已过期', 'session expired') }) })
    const lost = vi.fn()
    onUnauthorized(lost)
    await expect(api.accounts()).rejects.toMatchObject({ status: 401 })
    expect(lost).toHaveBeenCalledTimes(1)
  })

  it('keeps the reason of a 403', async () => {
    const { api } = fakeApi({
      'PUT /api/risk/state': () => ({ status: 403, body: detail('forbidden', '需要 trader 角色', 'needs the trader role') }),
    })
    const error = await api.setRiskState('halted', 'test').catch((exc: unknown) => exc)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).detail).toMatchObject({ code: 'forbidden', message: '需要 trader 角色', message_en: 'needs the trader role' })
  })

  it('logs out even when the session had already ended', async () => {
    const { calls } = fakeApi({
      'POST /api/auth/login': () => ({ body: { user: { username: 'v', role: 'viewer' }, expires_at: 'x', token: 't' } }),
      'POST /api/auth/logout': () => ({ status: 401, body: detail('unauthorized', '未登录', 'not logged in') }),
    })
    const auth = useAuthStore()
    await auth.login('v', 'p')
    expect(auth.can('trade')).toBe(false)
    await auth.logout()
    expect(auth.user).toBeNull()
    expect(calls.at(-1)?.path).toBe('/api/auth/logout')
  })
})
