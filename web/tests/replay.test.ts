import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/api/client'
import { i18n } from '../src/i18n'
import { beijingDate, beijingTime, decisionText, loadReplay } from '../src/replay'
import ReplayView from '../src/views/ReplayView.vue'
import { eventually, fakeApi } from './helpers'

describe('live versus backtest', () => {
  it('asks for one account and day and hands back the comparison', async () => {
    const body = { account: 'paper-1', date: '2026-11-24', differences: [], matched: 3 }
    const { api, calls } = fakeApi({ 'GET /api/backtests/replay': () => ({ body }) })
    const answer = await loadReplay(api, 'paper-1', '2026-11-24')
    expect(answer.matched).toBe(3)
    expect(calls[0]?.query.get('account')).toBe('paper-1')
    expect(calls[0]?.query.get('date')).toBe('2026-11-24')
  })

  it("throws the server's reason", async () => {
    const detail = { code: 'unknown_account', message: '未知账户 x', message_en: 'unknown account x' }
    const { api } = fakeApi({ 'GET /api/backtests/replay': () => ({ status: 404, body: { detail } }) })
    const refused = loadReplay(api, 'x', '2026-11-24')
    await expect(refused).rejects.toBeInstanceOf(ApiError)
    await expect(refused).rejects.toMatchObject({ status: 404, detail: { code: 'unknown_account' } })
  })

  it('shows market times and decisions in Beijing terms', () => {
    expect(beijingDate(new Date('2026-11-23T17:00:00Z'))).toBe('2026-11-24')
    expect(beijingTime('2026-11-24T01:32:32.524078+00:00')).toBe('09:32:32')
    const refused = { strategy: 's', side: 'buy', quantity: 100, price: '10.95', accepted: false, rule: 'cash', message: null, decision_id: 'd1' }
    expect(decisionText(refused, 'market')).toBe('buy 100 @ 10.95 ✗ cash')
    expect(decisionText({ ...refused, price: null, accepted: true, rule: null }, '市价')).toBe('buy 100 @ 市价 ✓')
    expect(decisionText(null, 'market')).toBe('—')
  })
})

describe('the Replay screen', () => {
  const difference = {
    ts: '2026-11-24T01:45:15+00:00', code: 'sz000001', strategy: 'pulse', kind: 'replay_only', fields: ['decision'],
    live: null,
    replay: { strategy: 'pulse', side: 'buy', quantity: 100, price: null, accepted: true, rule: null, message: null, decision_id: null },
    reason: 'node_offline', reason_zh: '节点离线（09:45:00–09:46:00），实盘代理未为该账户决策', reason_en: 'the node was offline (09:45:00–09:46:00)', root: 'node_offline',
  }
  const answer = {
    account: 'paper-1', date: '2026-11-24', quote_source: 'raw', moments_source: 'rounds', moments: 40, live_decisions: 30,
    replay_decisions: 34, matched: 30, differences: [difference], offline: [{ start: '2026-11-24T01:45:00+00:00', end: '2026-11-24T01:46:00+00:00' }],
    not_replayed: 0, warnings: [], seconds: 0.2,
  }

  it('compares the chosen account and day and lists each difference with its reason', async () => {
    const { calls } = fakeApi({
      'GET /api/accounts': () => ({ body: [{ id: 'paper-1' }] }),
      'GET /api/agent/status': () => ({ body: { last_run_at: '2026-11-24T06:59:00+00:00' } }),
      'GET /api/backtests/replay': () => ({ body: answer }),
    })
    const page = mount(ReplayView, { global: { plugins: [i18n] } })
    await eventually(() => expect((page.get('[data-testid=replay-date]').element as HTMLInputElement).value).toBe('2026-11-24'))
    await eventually(() => expect(page.get('[data-testid=replay-account]').text()).toContain('paper-1'))
    await page.get('[data-testid=replay-form]').trigger('submit')
    await eventually(() => expect(page.findAll('[data-testid=replay-row]')).toHaveLength(1))
    const row = page.get('[data-testid=replay-row]').text()
    expect(row).toContain('09:45:15')
    expect(row).toContain('节点离线')
    expect(row).toContain('buy 100 @ 市价 ✓')
    expect(page.get('[data-testid=replay-summary]').text()).toContain('差异 1')
    const asked = calls.find((call) => call.path === '/api/backtests/replay')
    expect(asked?.query.get('account')).toBe('paper-1')
    expect(asked?.query.get('date')).toBe('2026-11-24')
    page.unmount()
  })
})
