import { describe, expect, it } from 'vitest'
import type { Account, Bar, EquityPoint, Position, Quote } from '../src/api/types'
import { barIndexAt, movingAverage } from '../src/kline'
import { CURVE_LIMIT, minuteCurve, pnlToday, todayCurves } from '../src/pnl'
import { detail, fakeApi } from './helpers'

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
    expect(pnlToday({ ...ACCOUNT, pnl_today: '0.00', day_start_equity: '999975.73' }, [], new Map())).toMatchObject({
      estimated: false,
    })
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
  const POINTS: EquityPoint[] = [
    { ts: '2026-11-24T07:00:00Z', equity: '1000000.00', cash: '1000000.00' }, // yesterday's close
    { ts: '2026-11-25T01:30:10Z', equity: '999990.00', cash: '852000.00' },
    { ts: '2026-11-25T01:30:50Z', equity: '999980.50', cash: '852000.00' }, // same minute: wins
    { ts: '2026-11-25T01:31:00Z', equity: '999975.73', cash: '852000.00' },
    { ts: 'not a time', equity: '1', cash: '1' },
    { ts: '2026-11-25T01:32:00Z', equity: 'NaN?', cash: '1' },
  ]

  it('keeps the last point of each minute, oldest first', () => {
    expect(minuteCurve([...POINTS].reverse())).toEqual([
      { ts: '2026-11-24T07:00:00Z', equity: '1000000.00' },
      { ts: '2026-11-25T01:30:50Z', equity: '999980.50' },
      { ts: '2026-11-25T01:31:00Z', equity: '999975.73' },
    ])
    expect(minuteCurve([])).toEqual([])
  })

  it("asks for each account's history from where today's P&L starts", async () => {
    const { api, calls } = fakeApi({
      'GET /api/accounts/paper-1/equity': () => ({ body: POINTS.slice(0, 4) }),
    })
    const accounts: Account[] = [
      { ...ACCOUNT, day_start_at: '2026-11-24T07:00:00Z', day_start_equity: '1000000.00', pnl_today: '-24.27' },
      { ...ACCOUNT, id: 'new-1', day_start_at: null, day_start_equity: null, pnl_today: null },
    ]
    const curves = await todayCurves(api, accounts)
    expect(curves.get('paper-1')?.map((point) => point.equity)).toEqual(['1000000.00', '999980.50', '999975.73'])
    expect(curves.get('new-1')).toEqual([]) // no history: no request, the empty state
    expect(calls).toHaveLength(1)
    expect(calls[0]?.path).toBe('/api/accounts/paper-1/equity')
    expect(calls[0]?.query.get('start')).toBe('2026-11-24T07:00:00Z')
    expect(calls[0]?.query.get('limit')).toBe(String(CURVE_LIMIT))
  })

  it('reports a failed history read as the API error', async () => {
    const { api } = fakeApi({
      'GET /api/accounts/paper-1/equity': () => ({ status: 404, body: detail('not_found', '账户 paper-1 不存在', 'no account paper-1') }),
    })
    await expect(todayCurves(api, [{ ...ACCOUNT, day_start_at: '2026-11-24T07:00:00Z' }])).rejects.toMatchObject({
      status: 404,
      detail: { code: 'not_found', message: '账户 paper-1 不存在' },
    })
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
