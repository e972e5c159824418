import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { beijingDay, ticketProblem, tradingOptions, useTradingStore } from '../src/stores/trading'
import { detail, fakeApi } from './helpers'

const ORDER = {
  id: 'P-1', account: 'paper-1', node_id: 'local-1', command_id: 'c1', symbol: 'sh600519', side: 'buy', type: 'limit',
  quantity: 100, price: '1480.00', status: 'submitted', filled_quantity: 0, filled_amount: '0.00', broker_order_id: 'P-1',
  reason: '', created_at: '2026-11-25T01:31:00Z', updated_at: '2026-11-25T01:31:00Z',
}
const OLD_ORDER = { ...ORDER, id: 'P-0', status: 'filled', created_at: '2026-11-24T02:00:00Z' }
const TRADE = {
  id: 'T-1', order_id: 'P-0', account: 'paper-1', node_id: 'local-1', symbol: 'sh600519', side: 'buy', quantity: 100,
  price: '1470.00', amount: '147000.00', commission: '5.00', stamp_duty: '0.00', transfer_fee: '1.47', ts: '2026-11-24T02:00:01Z',
}
const original = { ...tradingOptions }

beforeEach(() => {
  setActivePinia(createPinia())
  tradingOptions.pollMs = 1
})
afterEach(() => {
  Object.assign(tradingOptions, original)
})

function commandAnswer(status: string, extra: Record<string, unknown> = {}) {
  return { success: status === 'done', command_id: 'cmd-1', status, node_id: 'local-1', result: null, status_url: '/api/commands/cmd-1', ...extra }
}

describe('trading store', () => {
  it('loads the tables and picks the newest trading day', async () => {
    fakeApi({
      'GET /api/positions': () => ({ body: [] }),
      'GET /api/orders': () => ({ body: [ORDER, OLD_ORDER] }),
      'GET /api/trades': () => ({ body: [TRADE] }),
    })
    const store = useTradingStore()
    await store.refresh()
    expect(store.day).toBe('2026-11-25')
    expect(store.todayOrders.map((order) => order.id)).toEqual(['P-1'])
    expect(store.todayTrades).toEqual([]) // the trade was yesterday
    expect(beijingDay('2026-11-24T16:30:00Z')).toBe('2026-11-25') // after midnight in Beijing
  })

  it('sends a limit order with the price as typed and shows acceptance', async () => {
    const { calls } = fakeApi({
      'POST /api/cloud-local-trading/execute-trade': () => ({ body: commandAnswer('done') }),
      'GET /api/positions': () => ({ body: [] }),
      'GET /api/orders': () => ({ body: [] }),
      'GET /api/trades': () => ({ body: [] }),
    })
    const store = useTradingStore()
    const verdict = await store.submit({ code: '600519', side: 'buy', price: '1480.10', quantity: '100', market: false })
    expect(verdict.verdict).toBe('accepted')
    expect(verdict.command?.command_id).toBe('cmd-1')
    const sent = calls.find((call) => call.path.endsWith('/execute-trade'))
    expect(sent?.body).toEqual({ action: 'buy', stock_code: '600519', quantity: 100, price: '1480.10', account: null })
  })

  it('sends a market order without a price', async () => {
    const { calls } = fakeApi({ 'POST /api/cloud-local-trading/execute-trade': () => ({ status: 202, body: commandAnswer('sent') }) })
    const store = useTradingStore()
    const verdict = await store.submit({ code: 'sh600519', side: 'sell', price: '99', quantity: '200', market: true })
    expect(verdict.verdict).toBe('accepted')
    expect((calls[0]?.body as { price: unknown }).price).toBeNull()
  })

  it('explains a risk rejection with its rule, messages and values', async () => {
    fakeApi({
      'POST /api/cloud-local-trading/execute-trade': () => ({
        status: 422,
        body: detail('max_position_size', '单票仓位 25% 超过上限 10%', 'position 25% exceeds the 10% limit', {
          values: { weight: '0.25', limit: '0.1' },
          decision_id: 'dec-9',
        }),
      }),
    })
    const store = useTradingStore()
    const verdict = await store.submit({ code: '600519', side: 'buy', price: '1480', quantity: '10000', market: false })
    expect(verdict).toMatchObject({
      verdict: 'rejected',
      rule: 'max_position_size',
      message: '单票仓位 25% 超过上限 10%',
      message_en: 'position 25% exceeds the 10% limit',
      values: { weight: '0.25', limit: '0.1' },
      decisionId: 'dec-9',
    })
    expect(store.verdict).toEqual(verdict)
  })

  it('counts a broker refusal as a rejection', async () => {
    fakeApi({
      'POST /api/cloud-local-trading/execute-trade': () => ({ body: commandAnswer('rejected', { result: { reason: '资金不足' } }) }),
    })
    const verdict = await useTradingStore().submit({ code: '600519', side: 'buy', price: '1', quantity: '100', market: false })
    expect(verdict.verdict).toBe('rejected')
    expect(verdict.rule).toBe('broker_rejected')
    expect(verdict.message).toContain('资金不足')
  })

  it('checks a ticket before sending it', () => {
    const base = { code: '600519', side: 'buy' as const, price: '10', quantity: '100', market: false }
    expect(ticketProblem(base)).toBeNull()
    expect(ticketProblem({ ...base, code: ' ' })?.[1]).toBe('enter a code')
    expect(ticketProblem({ ...base, quantity: '1.5' })).not.toBeNull()
    expect(ticketProblem({ ...base, quantity: '0' })).not.toBeNull()
    expect(ticketProblem({ ...base, price: '' })).not.toBeNull()
    expect(ticketProblem({ ...base, price: '', market: true })).toBeNull()
  })

  it('cancels an order through its account', async () => {
    const { calls } = fakeApi({
      'POST /api/cloud-local-trading/cancel-order': () => ({ body: commandAnswer('done') }),
      'GET /api/positions': () => ({ body: [] }),
      'GET /api/orders': () => ({ body: [{ ...ORDER, status: 'cancelled' }] }),
      'GET /api/trades': () => ({ body: [] }),
    })
    const store = useTradingStore()
    await store.cancel(ORDER as never)
    expect(calls[0]?.body).toEqual({ order_id: 'P-1', account: 'paper-1' })
    expect(store.orders[0]?.status).toBe('cancelled')
  })

  it('exports: waits for the node, then downloads the named file', async () => {
    let polls = 0
    const { calls } = fakeApi({
      'POST /api/cloud-local-trading/export-data': () => ({ status: 202, body: commandAnswer('sent') }),
      'GET /api/commands/cmd-1': () => ({ body: { id: 'cmd-1', status: ++polls < 2 ? 'acked' : 'done' } }),
      'GET /api/exports/cmd-1/positions': () =>
        new Response('证券代码,证券名称\n600519,贵州茅台\n', {
          headers: {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': `attachment; filename="positions.csv"; filename*=UTF-8''${encodeURIComponent('持仓_20261125.csv')}`,
          },
        }),
    })
    const downloads: { name: string; text: string }[] = []
    tradingOptions.download = (blob, name) => {
      void blob.text().then((text) => downloads.push({ name, text }))
    }
    const store = useTradingStore()
    const name = await store.exportFile('positions', 'csv')
    expect(name).toBe('持仓_20261125.csv')
    expect(polls).toBe(2)
    expect(calls[0]?.body).toEqual({ data_type: 'positions', account: null })
    expect(calls.at(-1)?.query.get('format')).toBe('csv')
    await expect.poll(() => downloads).toEqual([{ name: '持仓_20261125.csv', text: '证券代码,证券名称\n600519,贵州茅台\n' }])
    expect(store.exporting).toBeNull()
  })

  it('reports an export the node failed', async () => {
    fakeApi({ 'POST /api/cloud-local-trading/export-data': () => ({ body: commandAnswer('failed') }) })
    await expect(useTradingStore().exportFile('orders')).rejects.toMatchObject({ detail: { code: 'export_failed' } })
  })
})
