/**
 * Today's P&L and the equity curve from what the API reports, exact (Decimal).
 */
import Decimal from 'decimal.js-light'
import type { Account, Command, Position, Quote } from './api/types'
import { dec } from './format'

export interface PnlToday {
  value: Decimal
  /** True when estimated from positions (the account did not report it). */
  estimated: boolean
}

/**
 * Today's P&L of ``account``: its own ``pnl_today`` or ``equity - day_start_equity``
 * when reported; otherwise the positions' move today: shares held since before today
 * (``available``, T+1) from the previous close, shares bought today from their cost.
 * Null when a held position has no quote to value it.
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

export interface EquityPoint {
  ts: string
  equity: string
}

/**
 * The equity of ``account`` after each command the node answered with an account
 * snapshot, plus its current equity: oldest first, one point per moment.
 */
export function equityCurve(account: Account, commands: Command[]): EquityPoint[] {
  const points = new Map<string, string>()
  for (const command of commands) {
    const snapshot = (command.result as { account?: { id?: string; equity?: string } } | null)?.account
    const ts = command.finished_at
    if (!snapshot || !ts || snapshot.id !== account.id || dec(snapshot.equity) === null) continue
    points.set(ts, String(snapshot.equity))
  }
  if (dec(account.equity) !== null && account.updated_at) points.set(account.updated_at, account.equity)
  return [...points.entries()]
    .map(([ts, equity]) => ({ ts, equity }))
    .sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))
}
