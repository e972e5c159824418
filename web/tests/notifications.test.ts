import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { type Notice, useNotificationsStore } from '../src/stores/notifications'
import { fakeApi } from './helpers'

beforeEach(() => setActivePinia(createPinia()))

describe('notifications', () => {
  it('lists what happened before, announces only what is new, once', async () => {
    let trades = [{ id: 'T1', ts: '2026-11-25T01:30:00Z', side: 'buy', symbol: 'sh600519', quantity: 100, price: '1480' }]
    let rejected: unknown[] = []
    const { calls } = fakeApi({
      'GET /api/trades': () => ({ body: trades }),
      'GET /api/decisions': () => ({ body: rejected }),
    })
    const store = useNotificationsStore()
    const announced: Notice[] = []
    await store.poll((notice) => announced.push(notice))
    expect(store.items.map((item) => item.id)).toEqual(['t:T1'])
    expect(announced).toEqual([])
    expect(calls.find((call) => call.path === '/api/decisions')?.query.get('verdict')).toBe('rejected')

    trades = [{ ...trades[0]!, id: 'T2', ts: '2026-11-25T01:31:00Z' }, ...trades]
    rejected = [{ id: 'D1', ts: '2026-11-25T01:32:00Z', verdict: 'rejected', rule: 'max_positions', code: 'sz000001' }]
    await store.poll((notice) => announced.push(notice))
    await store.poll((notice) => announced.push(notice))
    expect(announced.map((notice) => notice.id)).toEqual(['t:T2', 'd:D1'])
    expect(store.items.map((item) => item.id)).toEqual(['d:D1', 't:T2', 't:T1'])
    expect(store.unread).toBe(2)
    store.markRead()
    expect(store.unread).toBe(0)
  })

  it('keeps a few toasts and dismisses them', () => {
    const store = useNotificationsStore()
    const ids = [1, 2, 3, 4, 5, 6].map((n) => store.toast(`m${n}`, 'info', 0))
    expect(store.toasts.map((toast) => toast.text)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6'])
    store.dismiss(ids[5]!)
    expect(store.toasts).toHaveLength(4)
  })
})
