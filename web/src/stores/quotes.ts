/**
 * Live quotes from ``WS /api/stream``, for the codes on screen only.
 *
 * Components call ``watch(codes)`` and the returned release function when they go;
 * subscriptions are counted per code, so the socket subscribes to a code when its first
 * viewer arrives and unsubscribes when its last one leaves. Incoming pushes are
 * coalesced: quotes land in a pending map (the newest per code wins, an older one never
 * overwrites a newer one) and are written to the reactive state at most once per
 * ``flushMs``, so a burst of pushes costs one render. The socket reconnects with
 * backoff and re-subscribes; close code 4401 means the session is gone.
 */
import { defineStore } from 'pinia'
import { ref, shallowRef, triggerRef } from 'vue'
import type { Quote } from '../api/types'

export interface SocketLike {
  readyState: number
  send(text: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: Event) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onerror: ((event: Event) => void) | null
}

export interface StreamOptions {
  createSocket: (url: string) => SocketLike
  url: () => string
  flushMs: number
  reconnectMs: (attempt: number) => number
  onUnauthorized: () => void
}

const OPEN = 1
const UNAUTHORIZED = 4401

export const streamOptions: StreamOptions = {
  createSocket: (url) => new WebSocket(url),
  url: () => {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
    return `${scheme}://${window.location.host}/api/stream`
  },
  flushMs: 100,
  reconnectMs: (attempt) => Math.min(10_000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4),
  onUnauthorized: () => {},
}

export type StreamStatus = 'idle' | 'connecting' | 'open' | 'closed'

export const useQuotesStore = defineStore('quotes', () => {
  /** The newest quote per code (reactive as a whole; replaced per flush). */
  const quotes = shallowRef(new Map<string, Quote>())
  const status = ref<StreamStatus>('idle')
  /** How many flushes reached the reactive state (for tests and diagnostics). */
  const flushes = ref(0)
  const counts = new Map<string, number>()
  let socket: SocketLike | null = null
  let pending = new Map<string, Quote>()
  let flushTimer: ReturnType<typeof setTimeout> | null = null
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null
  let attempt = 0
  let stopped = false

  function wanted(): string[] {
    return [...counts.keys()].sort()
  }

  function send(message: { op: 'subscribe' | 'unsubscribe'; codes: string[] }): void {
    if (socket && socket.readyState === OPEN && message.codes.length > 0) {
      socket.send(JSON.stringify(message))
    }
  }

  function connect(): void {
    if (socket || stopped) return
    status.value = 'connecting'
    const current = streamOptions.createSocket(streamOptions.url())
    socket = current
    current.onopen = () => {
      attempt = 0
      status.value = 'open'
      send({ op: 'subscribe', codes: wanted() })
    }
    current.onmessage = (event) => receive(String(event.data))
    current.onclose = (event) => {
      if (socket !== current) return
      socket = null
      status.value = 'closed'
      if (event.code === UNAUTHORIZED) {
        streamOptions.onUnauthorized()
        return
      }
      if (!stopped && counts.size > 0) {
        reconnectTimer = setTimeout(() => {
          reconnectTimer = null
          connect()
        }, streamOptions.reconnectMs(attempt++))
      }
    }
    current.onerror = () => {
      // onclose follows and schedules the reconnect
    }
  }

  /** Handle one message from the server. */
  function receive(text: string): void {
    let message: { type?: string; quotes?: Quote[] }
    try {
      message = JSON.parse(text) as typeof message
    } catch {
      return
    }
    if (message.type !== 'quotes' || !Array.isArray(message.quotes)) return
    for (const quote of message.quotes) {
      if (!counts.has(quote.code)) continue // a push that crossed our unsubscribe
      const queued = pending.get(quote.code) ?? quotes.value.get(quote.code)
      if (queued && queued.ts > quote.ts && sameOffset(queued.ts, quote.ts)) continue
      pending.set(quote.code, quote)
    }
    if (pending.size > 0 && flushTimer === null) {
      flushTimer = setTimeout(flush, streamOptions.flushMs)
    }
  }

  /** Write the pending quotes to the reactive state in one go. */
  function flush(): void {
    if (flushTimer !== null) clearTimeout(flushTimer)
    flushTimer = null
    if (pending.size === 0) return
    const batch = pending
    pending = new Map()
    for (const [code, quote] of batch) quotes.value.set(code, quote)
    flushes.value += 1
    triggerRef(quotes)
  }

  /** Put a snapshot (from ``GET /api/quotes``) in, unless a newer quote is there. */
  function seed(list: Quote[]): void {
    for (const quote of list) {
      const known = pending.get(quote.code) ?? quotes.value.get(quote.code)
      if (!known || known.ts <= quote.ts) pending.set(quote.code, quote)
    }
    flush()
  }

  /** Subscribe to ``codes``; call the answer to release them. */
  function watch(codes: string[]): () => void {
    const unique = [...new Set(codes)]
    const added = unique.filter((code) => !counts.has(code))
    for (const code of unique) counts.set(code, (counts.get(code) ?? 0) + 1)
    stopped = false
    if (!socket) connect()
    else send({ op: 'subscribe', codes: added.sort() })
    let released = false
    return () => {
      if (released) return
      released = true
      const removed: string[] = []
      for (const code of unique) {
        const left = (counts.get(code) ?? 1) - 1
        if (left <= 0) {
          counts.delete(code)
          removed.push(code)
          pending.delete(code)
        } else counts.set(code, left)
      }
      send({ op: 'unsubscribe', codes: removed.sort() })
    }
  }

  /** Close the socket and forget everything (logout). */
  function stop(): void {
    stopped = true
    if (reconnectTimer !== null) clearTimeout(reconnectTimer)
    if (flushTimer !== null) clearTimeout(flushTimer)
    reconnectTimer = flushTimer = null
    counts.clear()
    pending = new Map()
    const current = socket
    socket = null
    current?.close(1000, 'bye')
    status.value = 'idle'
  }

  function subscribed(): string[] {
    return wanted()
  }

  return { quotes, status, flushes, watch, receive, flush, seed, stop, subscribed }
})

/** ISO strings compare as times only when they carry the same UTC offset. */
function sameOffset(a: string, b: string): boolean {
  return a.slice(-6) === b.slice(-6)
}
