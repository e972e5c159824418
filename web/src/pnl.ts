/**
 * Today's P&L and the equity curve from what the API reports, exact (Decimal).
 */
import Decimal from 'decimal.js-light'
import type { Api } from './api/client'
import type { Account, EquityPoint, Position, Quote } from './api/types'
import { dec } from './format'

export interface PnlToday {
  value: Decimal
  /** True when estimated from positions (the account did not report it). */
  estimated: boolean
}

/**
 * Today's P&L of ``account``: its own ``pnl_today`` or ``equity - day_start_equity``
 * when reported (the cloud does once the account has equity history); otherwise, for an
 * account without history, estimated from the positions' move today: shares held since
 * before today (``available``, T+1) from the previous close, shares bought today from
 * their cost. Null when a held position has no quote to value it.
 */
export function pnlToday(account: Account, positions: Position[], quotes: Map<string, Quote>): PnlToday | null {
  const reported = dec(account.pnl_today)
  if (reported !== null) return { value: reported, estimated: false }
  const equity = dec(account.equity)
  const start = dec(account.day_start_equity)
  if (equity !== null && start !== null) return { value: equity.minus(start), estimated: false }
  let total = new Decimal(0)
  for (const position of positions) {
    if (position.account !== account.id || position.total === 0) continue
    const quote = quotes.get(position.symbol)
    const last = dec(quote?.last ?? position.last_price)
    const previous = dec(quote?.previous_close)
    const cost = dec(position.cost_price)
    if (last === null || cost === null) return null
    const old = Math.max(0, Math.min(position.available, position.total))
    const fresh = position.total - old
    if (old > 0) {
      if (previous === null) return null
      total = total.plus(last.minus(previous).times(old))
    }
    if (fresh > 0) total = total.plus(last.minus(cost).times(fresh))
  }
  return { value: total, estimated: true }
}

export interface CurvePoint {
  ts: string
  equity: string
}

/** Points of today's curve asked for: a day at the default 60 s interval has fewer. */
export const CURVE_LIMIT = 2000

/**
 * The equity history at 1-minute resolution: the last point of each minute, oldest first
 * (the history has at most one row per ``accounts.equity_interval``, which may be shorter).
 */
export function minuteCurve(points: EquityPoint[]): CurvePoint[] {
  const minutes = new Map<number, CurvePoint>()
  for (const point of points) {
    const at = Date.parse(point.ts)
    if (Number.isNaN(at) || dec(point.equity) === null) continue
    const minute = Math.floor(at / 60_000)
    const kept = minutes.get(minute)
    if (!kept || Date.parse(kept.ts) <= at) minutes.set(minute, { ts: point.ts, equity: point.equity })
  }
  return [...minutes.entries()].sort(([a], [b]) => a - b).map(([, point]) => point)
}

type EquityApi = Pick<Api, 'equity'>

/**
 * Today's equity curve of each account: its history from ``day_start_at`` (the
 * snapshot today's P&L starts from, usually yesterday's close) on, per minute. An
 * account without history gets no points and costs no request.
 */
export async function todayCurves(api: EquityApi, accounts: Account[]): Promise<Map<string, CurvePoint[]>> {
  const curves = await Promise.all(
    accounts.map(async (account): Promise<[string, CurvePoint[]]> => {
      if (!account.day_start_at) return [account.id, []]
      const points = await api.equity(account.id, { start: account.day_start_at, limit: CURVE_LIMIT })
      return [account.id, minuteCurve(points)]
    }),
  )
  return new Map(curves)
}
