/**
 * Live versus backtest (``GET /api/backtests/replay``): the call, its answer's types and
 * the few pure helpers the Replay screen shows them with.
 */
import { ApiError, type Api } from './api/client'
import type { components } from './api/schema'

export type ReplayAnswer = components['schemas']['ReplayPublic']
export type ReplayDifference = components['schemas']['ReplayDifference']
export type ReplayDecision = components['schemas']['ReplayDecision']

/** The comparison of ``account``'s ``date`` (YYYY-MM-DD); throws an {@link ApiError}. */
export async function loadReplay(api: Api, account: string, date: string): Promise<ReplayAnswer> {
  let answer
  try {
    answer = await api.client.GET('/api/backtests/replay', { params: { query: { account, date } } })
  } catch (exc) {
    const text = exc instanceof Error ? exc.message : String(exc)
    throw new ApiError(0, { code: 'network', message: `网络错误：${text}`, message_en: `network error: ${text}` })
  }
  if (!answer.response.ok || answer.data === undefined) throw ApiError.from(answer.response.status, answer.error)
  return answer.data
}

/** The Beijing trading date of a moment (YYYY-MM-DD): the market's day, wherever the reader is. */
export function beijingDate(moment: Date): string {
  const shifted = new Date(moment.getTime() + 8 * 3600 * 1000)
  return shifted.toISOString().slice(0, 10)
}

/** ``HH:MM:SS`` in Beijing time. */
export function beijingTime(iso: string): string {
  const shifted = new Date(new Date(iso).getTime() + 8 * 3600 * 1000)
  return shifted.toISOString().slice(11, 19)
}

/** One side of a difference in a line: ``buy 100 @ 10.95 ✓`` or ``… ✗ cash``; ``—`` when absent. */
export function decisionText(decision: ReplayDecision | null | undefined, market: string): string {
  if (!decision) return '—'
  const price = decision.price ?? market
  const verdict = decision.accepted ? '✓' : `✗ ${decision.rule ?? ''}`.trim()
  return `${decision.side} ${decision.quantity} @ ${price} ${verdict}`
}
