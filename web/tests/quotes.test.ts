import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Quote } from '../src/api/types'
import { type SocketLike, streamOptions, useQuotesStore } from '../src/stores/quotes'

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: { op: string; codes: string[] }[] = []
  onopen: ((event: Event) => void) | null = null
  onclose: ((event: CloseEvent) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  send(text: string): void {
    this.sent.push(JSON.parse(text) as { op: string; codes: string[] })
  }
  close(code = 1000): void {
    this.readyState = 3
    this.onclose?.({ code } as CloseEvent)
  }
  open(): void {
    this.readyState = 1
    this.onopen?.({} as Event)
  }
  push(quotes: Partial<Quote>[]): void {
    this.onmessage?.({ data: JSON.stringify({ type: 'quotes', quotes }) } as MessageEvent)
  }
  drop(code: number): void {
    this.readyState = 3
    this.onclose?.({ code } as CloseEvent)
  }
}

const original = { ...streamOptions }

function quote(code: string, last: string, ts: string): Partial<Quote> {
  return { code, last, ts, change_pct: '0.00', previous_close: last }
}

beforeEach(() => {
  vi.useFakeTimers()
  setActivePinia(createPinia())
  FakeSocket.all = []
  streamOptions.createSocket = (url) => new FakeSocket(url)
  streamOptions.url = () => 'ws://cloud.test/api/stream'
  streamOptions.flushMs = 100
  streamOptions.reconnectMs = () => 1000
  streamOptions.onUnauthorized = vi.fn()
})

afterEach(() => {
  Object.assign(streamOptions, original)
  vi.useRealTimers()
})

describe('quotes stream', () => {
  it('subscribes only to the codes on screen, counted per viewer', () => {
    const store = useQuotesStore()
    const releaseA = store.watch(['sh600519', 'sz000001'])
    expect(FakeSocket.all).toHaveLength(1)
    const socket = FakeSocket.all[0]!
    expect(socket.url).toBe('ws://cloud.test/api/stream')
    socket.open()
    expect(socket.sent).toEqual([{ op: 'subscribe', codes: ['sh600519', 'sz000001'] }])

    const releaseB = store.watch(['sz000001', 'sh601318'])
    expect(socket.sent.at(-1)).toEqual({ op: 'subscribe', codes: ['sh601318'] })

    releaseA()
    // sz000001 is still shown by B: only sh600519 goes
    expect(socket.sent.at(-1)).toEqual({ op: 'unsubscribe', codes: ['sh600519'] })
    releaseA() // twice is harmless
    expect(socket.sent).toHaveLength(3)
    releaseB()
    expect(socket.sent.at(-1)).toEqual({ op: 'unsubscribe', codes: ['sh601318', 'sz000001'] })
    expect(store.subscribed()).toEqual([])
    expect(FakeSocket.all).toHaveLength(1)
  })

  it('coalesces a burst of pushes into one update, newest per code', () => {
    const store = useQuotesStore()
    store.watch(['sh600519', 'sz000001'])
    const socket = FakeSocket.all[0]!
    socket.open()
    socket.push([quote('sh600519', '1488.00', '2026-11-25T09:30:01+08:00')])
    socket.push([quote('sh600519', '1488.50', '2026-11-25T09:30:02+08:00'), quote('sz000001', '10.01', '2026-11-25T09:30:02+08:00')])
    // an older quote arriving late never overwrites a newer one
    socket.push([quote('sh600519', '1487.00', '2026-11-25T09:30:00+08:00')])
    // a code nobody shows is ignored
    socket.push([quote('sh601318', '50.00', '2026-11-25T09:30:02+08:00')])
    expect(store.flushes).toBe(0)
    expect(store.quotes.size).toBe(0)

    vi.advanceTimersByTime(100)
    expect(store.flushes).toBe(1)
    expect(store.quotes.get('sh600519')?.last).toBe('1488.50')
    expect(store.quotes.get('sz000001')?.last).toBe('10.01')
    expect(store.quotes.has('sh601318')).toBe(false)

    vi.advanceTimersByTime(1000)
    expect(store.flushes).toBe(1) // nothing new, no extra render
  })

  it('keeps a snapshot from overwriting a newer live quote', () => {
    const store = useQuotesStore()
    store.watch(['sh600519'])
    const socket = FakeSocket.all[0]!
    socket.open()
    socket.push([quote('sh600519', '1490.00', '2026-11-25T09:31:00+08:00')])
    store.seed([quote('sh600519', '1480.00', '2026-11-25T09:30:00+08:00') as Quote])
    expect(store.quotes.get('sh600519')?.last).toBe('1490.00')
  })

  it('reconnects after a drop and subscribes again', () => {
    const store = useQuotesStore()
    store.watch(['sh600519'])
    FakeSocket.all[0]!.open()
    FakeSocket.all[0]!.drop(1006)
    expect(store.status).toBe('closed')
    vi.advanceTimersByTime(999)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(2)
    FakeSocket.all[1]!.open()
    expect(store.status).toBe('open')
    expect(FakeSocket.all[1]!.sent).toEqual([{ op: 'subscribe', codes: ['sh600519'] }])
  })

  it('does not reconnect when the session is refused (4401)', () => {
    const store = useQuotesStore()
    store.watch(['sh600519'])
    FakeSocket.all[0]!.open()
    FakeSocket.all[0]!.drop(4401)
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(streamOptions.onUnauthorized).toHaveBeenCalledTimes(1)
  })

  it('stop closes the socket and forgets the subscriptions', () => {
    const store = useQuotesStore()
    store.watch(['sh600519'])
    FakeSocket.all[0]!.open()
    store.stop()
    expect(FakeSocket.all[0]!.readyState).toBe(3)
    expect(store.subscribed()).toEqual([])
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })
})
