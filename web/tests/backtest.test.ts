import { describe, expect, it } from 'vitest'
import { ApiError, useApi } from '../src/api/client'
import {
  type BacktestOptions,
  type BacktestReport,
  drawdowns,
  emptyForm,
  equityChart,
  metricText,
  paramsOf,
  parentPath,
  progressPct,
  requestOf,
  tradesChart,
  withPath,
} from '../src/backtest'
import { fakeApi } from './helpers'

const MA_SCHEMA = {
  properties: {
    fast: { type: 'integer', default: 5 },
    slow: { type: 'integer', default: 20 },
    kind: { enum: ['sma', 'ema'], default: 'sma' },
    sell_on_cross_down: { type: 'boolean', default: true },
    threshold: { anyOf: [{ type: 'number' }, { type: 'string' }], default: '-0.05' },
    filter: { $ref: '#/$defs/Filter', default: { min_price: null } },
  },
}
const OPTIONS: BacktestOptions = {
  strategies: [{ name: 'ma_cross', title: '均线交叉', rule: '', default: false, param_schema: MA_SCHEMA }],
  data_dirs: ['data'],
  fills: ['next_open'],
  rules: ['ashare', 'none'],
}
const TEXTS = { equity: 'e', benchmark: 'b', drawdown: 'd', close: 'c', buy: 'buy', sell: 'sell' }

describe('the backtest form', () => {
  it('sends only the params typed in, integers as integers and decimals as text', () => {
    const draft = { fast: '10', slow: '20', kind: 'ema', sell_on_cross_down: false, threshold: '-0.07' }
    expect(paramsOf(MA_SCHEMA, draft)).toEqual({ fast: 10, kind: 'ema', sell_on_cross_down: false, threshold: '-0.07' })
    // objects are JSON; unchanged from their default they are not sent
    expect(paramsOf(MA_SCHEMA, { filter: '{"min_price": null}' })).toEqual({})
    expect(paramsOf(MA_SCHEMA, { filter: '{"min_price": "5"}' })).toEqual({ filter: { min_price: '5' } })
    // a bad integer goes as typed: the server names it (422) instead of the form dropping it
    expect(paramsOf(MA_SCHEMA, { fast: 'ten' })).toEqual({ fast: 'ten' })
  })

  it('makes the request body, leaving empty fields out', () => {
    const form = emptyForm()
    form.strategies = [{ name: 'ma_cross', params: { fast: '10' } }]
    form.data = ' daily/a.csv \n\n daily/b '
    form.codes = '600000, 000001，sh600519'
    form.start = '2024-01-02'
    form.size = '100'
    expect(requestOf(form, OPTIONS)).toEqual({
      strategies: [{ name: 'ma_cross', params: { fast: 10 } }],
      data: ['daily/a.csv', 'daily/b'],
      database_bars: false,
      codes: ['600000', '000001', 'sh600519'],
      fill: 'next_open',
      rules: 'ashare',
      start: '2024-01-02',
      cash: '1000000',
      size: 100,
    })
  })
})

describe('the data picker', () => {
  it('goes up a folder and adds a path once', () => {
    expect(parentPath('daily/a/data')).toBe('daily/a')
    expect(parentPath('daily')).toBe('')
    expect(withPath('', 'daily/a.csv')).toBe('daily/a.csv')
    expect(withPath('daily/a.csv\n', 'daily/b')).toBe('daily/a.csv\ndaily/b')
    expect(withPath(' daily/a.csv \ndaily/b', 'daily/a.csv')).toBe('daily/a.csv\ndaily/b')
  })
})

describe('the report', () => {
  const report: BacktestReport = {
    metrics: { total_return: 0.1234, sharpe: null },
    final_equity: '110.00',
    bars: 3,
    seconds: 0.1,
    trades: [
      { date: '2024-01-03', code: 'sh600000', side: 'buy', price: '10.00', quantity: 100, fee: '5.00', strategy: 'ma_cross', reason: '' },
      { date: '2024-01-04', code: 'sh600000', side: 'sell', price: '11.00', quantity: 100, fee: '5.00', strategy: 'ma_cross', reason: '' },
    ],
    equity: [
      { date: '2024-01-02', equity: '100', cash: '100', exposure: '0' },
      { date: '2024-01-03', equity: '120', cash: '0', exposure: '1' },
      { date: '2024-01-04', equity: '90', cash: '90', exposure: '0' },
    ],
    benchmark: [
      { date: '2024-01-02', value: '50' },
      { date: '2024-01-04', value: '55' },
    ],
    refusals: [],
    warnings: [],
    prices: { sh600000: [{ date: '2024-01-03', close: '10.10' }] },
  }

  it('draws equity and benchmark from 1 so they compare', () => {
    const series = equityChart(report, TEXTS).series as { data: [string, number][] }[]
    expect(series[0]?.data.map(([, v]) => v)).toEqual([1, 1.2, 0.9])
    expect(series[1]?.data.map(([, v]) => v)).toEqual([1, 1.1])
  })

  it('measures drawdowns from the running peak', () => {
    expect(drawdowns([100, 120, 90, 130])).toEqual([0, 0, -0.25, 0])
  })

  it('marks buys and sells at their prices on the code’s closes', () => {
    const series = tradesChart(report, 'sh600000', TEXTS).series as { data: [string, number][] }[]
    expect(series[0]?.data).toEqual([['2024-01-03', 10.1]])
    expect(series[1]?.data).toEqual([['2024-01-03', 10]])
    expect(series[2]?.data).toEqual([['2024-01-04', 11]])
  })

  it('formats metrics and shows progress', () => {
    expect(metricText(0.1234, 'pct')).toBe('12.34%')
    expect(metricText(null, 'num')).toBe('—')
    expect(progressPct({ status: 'running', progress_done: 1, progress_total: 3 })).toBe(33)
    expect(progressPct({ status: 'queued', progress_done: 0, progress_total: 0 })).toBe(0)
    expect(progressPct({ status: 'done', progress_done: 0, progress_total: 0 })).toBe(100)
  })
})

describe('the backtests client', () => {
  it('submits, reads, cancels, and hands a refusal back with its reason', async () => {
    const run = { id: 'bt_0123456789abcdef0123', status: 'queued', progress_done: 0, progress_total: 0 }
    const { calls } = fakeApi({
      'POST /api/backtests': (call) =>
        (call.body as { data: string[] }).data[0] === '../x'
          ? { status: 422, body: { detail: { code: 'data_outside', message: 'data.0：../x 不在回测数据目录内', message_en: 'data.0: ../x is outside the data folders' } } }
          : { status: 202, body: run },
      'GET /api/backtests': () => ({ body: { items: [run], total: 1, limit: 20, offset: 0 } }),
      [`POST /api/backtests/${run.id}/cancel`]: () => ({ body: { ...run, status: 'cancelled' } }),
    })
    const api = useApi()
    const form = emptyForm()
    form.strategies = [{ name: 'ma_cross', params: {} }]
    form.data = 'daily/a.csv'
    expect((await api.submitBacktest(requestOf(form, OPTIONS))).id).toBe(run.id)
    expect((await api.backtests()).total).toBe(1)
    expect(calls.find((c) => c.method === 'GET')?.query.get('limit')).toBe('20')
    expect((await api.cancelBacktest(run.id)).status).toBe('cancelled')
    form.data = '../x'
    const refused = await api.submitBacktest(requestOf(form, OPTIONS)).catch((exc: unknown) => exc)
    expect(refused).toBeInstanceOf(ApiError)
    expect((refused as ApiError).detail.code).toBe('data_outside')
    expect(api.backtestReportUrl(run.id)).toBe(`http://cloud.test/api/backtests/${run.id}/report.html`)
  })
})
