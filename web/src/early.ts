/**
 * The first screen's requests, sent before the screen asks for them.
 *
 * Left alone, a page load is a waterfall: the app's code, then the session check
 * (``/api/auth/me``), then the screen's code, then its API calls, each waiting for the
 * one before. At boot (``main.ts``) the route's ``prefetch`` calls go out at once,
 * beside the session check and the screen's chunk. When the screen then asks the same
 * GET within {@link EARLY_MS}, it takes that answer (once) if it is a success; anything
 * else, or a later ask, goes to the network as usual.
 *
 * The early calls are made through an API client of their own, so the URLs are built
 * exactly as the screen's client builds them; that client never sees the answers, so a
 * 401 (nobody is logged in: the page goes to the login screen) is not reported twice.
 */
import { type Api, createApi } from './api/client'

/** How long an early answer waits to be taken before it is dropped. */
export const EARLY_MS = 5000

type Fetch = typeof globalThis.fetch

interface Waiting {
  at: number
  answer: Promise<Response>
}

export interface Early {
  /** The fetch for the app's client: a GET sent early is answered from that request. */
  fetch: Fetch
  /** Send the GETs that ``calls`` makes now; their answers wait for the app's client. */
  start(calls: (api: Api) => void): void
  /** ``METHOD url`` of each early request not taken yet. */
  pending(): string[]
}

function requestOf(input: RequestInfo | URL, init?: RequestInit): Request {
  return input instanceof Request && init === undefined ? input : new Request(input, init)
}

export function createEarly(
  base: Fetch = (input, init) => globalThis.fetch(input, init),
  now: () => number = () => performance.now(),
  baseUrl?: string,
): Early {
  const waiting = new Map<string, Waiting>()
  const keyOf = (request: Request) => `${request.method} ${request.url}`

  function drop(): void {
    const oldest = now() - EARLY_MS
    for (const [key, entry] of waiting) if (entry.at < oldest) waiting.delete(key)
  }

  const record: Fetch = async (input, init) => {
    const request = requestOf(input, init)
    if (request.method === 'GET') {
      const answer = base(request)
      answer.catch(() => undefined) // reported to whoever takes it, if anyone does
      waiting.set(keyOf(request), { at: now(), answer })
    }
    return new Response(null, { status: 204 })
  }
  const recorder = createApi({ fetch: record, ...(baseUrl ? { baseUrl } : {}) })

  const fetch: Fetch = async (input, init) => {
    const request = requestOf(input, init)
    drop()
    const key = keyOf(request)
    const early = waiting.get(key)
    if (early) {
      waiting.delete(key)
      // Only a success is reused: a refusal (a 401 before the user logged in on this
      // page) or a failure is asked again, as it would have been without this.
      const answer = await early.answer.catch(() => null)
      if (answer?.ok) return answer
    }
    return base(request)
  }

  function start(calls: (api: Api) => void): void {
    calls(recorder)
  }

  function pending(): string[] {
    drop()
    return [...waiting.keys()]
  }

  return { fetch, start, pending }
}
