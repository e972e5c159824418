/**
 * Toasts (transient messages) and notifications (fills and risk rejections).
 *
 * ``poll()`` reads the newest trades and rejected decisions; the first poll only sets
 * the baseline (what happened before the page opened is listed, not announced), later
 * polls announce each new item once.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, useApi } from '../api/client'
import type { Decision, Trade } from '../api/types'
import { localMessage } from '../i18n'

export type ToastKind = 'info' | 'success' | 'error'

export interface Toast {
  id: number
  kind: ToastKind
  text: string
}

export interface Notice {
  id: string
  kind: 'fill' | 'rejection'
  ts: string
  trade?: Trade
  decision?: Decision
}

const TOAST_MS = 5000
const KEEP = 50

export const useNotificationsStore = defineStore('notifications', () => {
  const toasts = ref<Toast[]>([])
  const items = ref<Notice[]>([])
  const unread = ref(0)
  const seen = new Set<string>()
  let baseline = false
  let nextToast = 1

  function toast(text: string, kind: ToastKind = 'info', ms = TOAST_MS): number {
    const id = nextToast++
    toasts.value = [...toasts.value.slice(-4), { id, kind, text }]
    if (ms > 0) setTimeout(() => dismiss(id), ms)
    return id
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((item) => item.id !== id)
  }

  /** A failed call as a toast: the server's reason, in the reader's language. */
  function fail(exc: unknown): void {
    if (exc instanceof ApiError) toast(localMessage(exc.detail), 'error')
    else toast(exc instanceof Error ? exc.message : String(exc), 'error')
  }

  function take(found: Notice[], announce: (notice: Notice) => void): void {
    const fresh = found.filter((notice) => !seen.has(notice.id))
    for (const notice of fresh) seen.add(notice.id)
    if (fresh.length === 0) return
    const merged = [...fresh, ...items.value].sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0))
    items.value = merged.slice(0, KEEP)
    if (baseline) {
      unread.value += fresh.length
      for (const notice of fresh) announce(notice)
    }
  }

  async function poll(announce: (notice: Notice) => void): Promise<void> {
    const api = useApi()
    const [trades, rejections] = await Promise.all([
      api.trades(20),
      api.decisions({ verdict: 'rejected', limit: 20 }).catch((exc: unknown) => {
        if (exc instanceof ApiError && exc.status !== 401) return [] as Decision[]
        throw exc
      }),
    ])
    const found: Notice[] = [
      ...trades.map((trade): Notice => ({ id: `t:${trade.id}`, kind: 'fill', ts: trade.ts, trade })),
      ...rejections.map(
        (decision): Notice => ({ id: `d:${decision.id}`, kind: 'rejection', ts: decision.ts, decision }),
      ),
    ]
    take(found, announce)
    baseline = true
  }

  function markRead(): void {
    unread.value = 0
  }

  const latest = computed(() => items.value.slice(0, 20))

  return { toasts, items, unread, latest, toast, dismiss, fail, poll, markRead }
})
