/** A scripted API for store tests: each route answers from a handler; calls are recorded. */
import { createApi, installApi } from '../src/api/client'

export interface Call {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
}

type Handler = (call: Call) => { status?: number; body?: unknown; headers?: Record<string, string> } | Response

export function fakeApi(routes: Record<string, Handler>) {
  const calls: Call[] = []
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(String(input), init)
    const url = new URL(request.url)
    const text = await request.text()
    const call: Call = {
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    }
    calls.push(call)
    const handler = routes[`${call.method} ${call.path}`]
    if (!handler) {
      return Response.json({ detail: { code: 'not_found', message: '无此路由', message_en: 'no route' } }, { status: 404 })
    }
    const answer = handler(call)
    if (answer instanceof Response) return answer
    const status = answer.status ?? 200
    if (status === 204) return new Response(null, { status })
    return new Response(JSON.stringify(answer.body ?? null), {
      status,
      headers: { 'content-type': 'application/json', ...(answer.headers ?? {}) },
    })
  }
  const api = createApi({ baseUrl: 'http://cloud.test', fetch: fetchFn as typeof fetch })
  installApi(api)
  return { api, calls }
}

export function detail(code: string, message: string, message_en: string, extra: Record<string, unknown> = {}) {
  return { detail: { code, message, message_en, ...extra } }
}

/** Wait until ``check`` passes (no fixed sleeps). */
export async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      check()
      return
    } catch (exc) {
      if (Date.now() > deadline) throw exc
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}
