import { describe, expect, it } from 'vitest'
import type { Account, Bar, Command, Position, Quote } from '../src/api/types'
import { barIndexAt, movingAverage } from '../src/kline'
import { equityCurve, pnlToday } from '../src/pnl'

const ACCOUNT: Account = {
  id: 'paper-1', node_id: 'local-1', paper: true, cash: '973228.73', frozen_cash: '0.00', equity: '999975.73',
  updated_at: '2026-11-25T02:00:00Z',
}

function position(symbol: string, total: number, available: number, cost: string, last: string): Position {
  return { account: 'paper-1', symbol, total, available, cost_price: cost, last_price: last, updated_at: '' }
}

function quote(code: string, last: string, previous: string): Quote {
  return { code, last, previous_close: previous } as Quote
}

describe("today's P&L", () => {
  it('prefers what the account reports', () => {
    expect(pnlToday({ ...ACCOUNT, pnl_today: '-123.45' }, [], new Map())?.value.toString()).toBe('-123.45')
    const fromStart = pnlToday({ ...ACCOUNT, day_start_equity: '1000000.00' }, [], new Map())
    expect(fromStart).toMatchObject({ estimated: false })
    expect(fromStart?.value.toString()).toBe('-24.27')
  })

  it('estimates from positions: old shares from the previous close, new ones from cost', () => {
    const positions = [
      position('sh600519', 300, 200, '1400.00', '1488.10'), // 200 old, 100 bought today
      position('sz000001', 1000, 1000, '11.00', '10.10'),
      { ...position('sh601318', 100, 100, '50', '51'), account: 'other' },
    ]
    const quotes = new Map([
      ['sh600519', quote('sh600519', '1488.10', '1480.00')],
      ['sz000001', quote('sz000001', '10.10', '10.20')],
    ])
    const answer = pnlToday(ACCOUNT, positions, quotes)
    // 200 x 8.10 + 100 x (1488.10 - 1400.00) + 1000 x (-0.10) = 1620 + 8810 - 100
    expect(answer?.value.toString()).toBe('10330')
    expect(answer?.estimated).toBe(true)
  })

  it('says nothing rather than guess without a previous close', () => {
    expect(pnlToday(ACCOUNT, [position('sh600519', 100, 100, '1', '2')], new Map())).toBeNull()
  })
})

describe('equity curve', () => {
  it('takes the account snapshots of finished commands, oldest first, then now', () => {
    const commands = [
      { finished_at: '2026-11-25T01:40:00Z', result: { account: { id: 'paper-1', equity: '999990.00' } } },
      { finished_at: '2026-11-25T01:30:00Z', result: { account: { id: 'paper-1', equity: '1000000.00' } } },
      { finished_at: '2026-11-25T01:35:00Z', result: { account: { id: 'other', equity: '5' } } },
      { finished_at: null, result: null },
    ] as unknown as Command[]
    expect(equityCurve(ACCOUNT, commands)).toEqual([
      { ts: '2026-11-25T01:30:00Z', equity: '1000000.00' },
      { ts: '2026-11-25T01:40:00Z', equity: '999990.00' },
      { ts: '2026-11-25T02:00:00Z', equity: '999975.73' },
    ])
  })
})

describe('k-line helpers', () => {
  const bars = ['10', '11', '12', '13', '14', '15.5'].map(
    (close, index) => ({ close, end: `2026-11-25T01:3${index + 1}:00Z` }) as Bar,
  )

  it('averages closes exactly', () => {
    expect(movingAverage(bars, 5)).toEqual([null, null, null, null, '12.000', '13.100'])
  })

  it('finds the bar a moment belongs to', () => {
    expect(barIndexAt(bars, '2026-11-25T01:32:30Z', '1m')).toBe(2)
    expect(barIndexAt(bars, '2026-11-25T01:31:00Z', '1m')).toBe(0)
    expect(barIndexAt(bars, '2026-11-25T05:00:00Z', '1m')).toBe(-1)
    const days = [{ end: '2026-11-24T07:00:00Z' }, { end: '2026-11-25T07:00:00Z' }] as Bar[]
    expect(barIndexAt(days, '2026-11-25T01:30:00Z', '1d')).toBe(1)
  })
})
