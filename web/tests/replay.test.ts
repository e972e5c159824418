import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/api/client'
import { beijingDate, beijingTime, decisionText, loadReplay } from '../src/replay'
import { fakeApi } from './helpers'

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
