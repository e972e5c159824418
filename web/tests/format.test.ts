import Decimal from 'decimal.js-light'
import { describe, expect, it } from 'vitest'
import {
  bigNumber,
  changePct,
  dec,
  fixed,
  money,
  normalizeCode,
  percent,
  price,
  ratio,
  signedMoney,
  sum,
  trend,
  trendClass,
  when,
} from '../src/format'

describe('money', () => {
  it('groups thousands and keeps two places without float noise', () => {
    expect(money('1234567.891')).toBe('1,234,567.89')
    expect(money('0.1')).toBe('0.10')
    expect(money('999975.73')).toBe('999,975.73')
    expect(money(null)).toBe('—')
    expect(money('not a number')).toBe('—')
  })

  it('stays exact where floats would not', () => {
    // 0.1 + 0.2 in floats is 0.30000000000000004; summed as decimals it is 0.3
    expect(sum(['0.1', '0.2']).toString()).toBe('0.3')
    expect(money(sum(['0.1', '0.2']))).toBe('0.30')
    // beyond 2^53 a float loses the cents
    expect(money('90071992547409.93')).toBe('90,071,992,547,409.93')
    expect(money('1.005')).toBe('1.01') // half-up on the decimal, not 1.00 from the float
  })

  it('signs changes and never shows -0.00', () => {
    expect(signedMoney('1200')).toBe('+1,200.00')
    expect(signedMoney('-35.1')).toBe('-35.10')
    expect(signedMoney('0')).toBe('0.00')
    expect(signedMoney('-0.001')).toBe('0.00')
    expect(fixed('-1234.5', 1)).toBe('-1,234.5')
  })
})

describe('prices and percentages', () => {
  it('keeps the tick of a price', () => {
    expect(price('1488')).toBe('1,488.00')
    expect(price('3.456')).toBe('3.456')
    expect(price('154.552')).toBe('154.552')
    expect(price(undefined)).toBe('—')
  })

  it('signs percentages', () => {
    expect(percent('1.2')).toBe('+1.20%')
    expect(percent('-5.21')).toBe('-5.21%')
    expect(percent('0.00')).toBe('0.00%')
    expect(ratio('0.1')).toBe('10.00%')
    expect(ratio('0.055')).toBe('5.50%')
  })

  it('computes a change exactly', () => {
    expect(changePct('10.10', '10.00')?.toString()).toBe('1')
    expect(changePct('1', '0')).toBeNull()
  })
})

describe('big numbers', () => {
  it('uses 万 and 亿 in Chinese', () => {
    expect(bigNumber(9999)).toBe('9,999')
    expect(bigNumber(12345678)).toBe('1,234.57万')
    expect(bigNumber('1834567890.12')).toBe('18.35亿')
    expect(bigNumber('320000000000')).toBe('3,200.00亿')
    expect(bigNumber('-25000')).toBe('-2.50万')
    expect(bigNumber('12.5')).toBe('12.50')
  })

  it('uses K, M and B in English', () => {
    expect(bigNumber(999, 'en')).toBe('999')
    expect(bigNumber(12345, 'en')).toBe('12.35K')
    expect(bigNumber(12345678, 'en')).toBe('12.35M')
    expect(bigNumber('1834567890.12', 'en')).toBe('1.83B')
  })
})

describe('colours', () => {
  it('is red up and green down (Chinese convention)', () => {
    expect(trend('1.2')).toBe('up')
    expect(trend('-0.01')).toBe('down')
    expect(trend('0')).toBe('flat')
    expect(trend(null)).toBe('flat')
    expect(trendClass('3')).toBe('trend-up')
    expect(trendClass(new Decimal('-3'))).toBe('trend-down')
  })
})

describe('codes and times', () => {
  it('normalises codes as typed', () => {
    expect(normalizeCode('600519')).toBe('sh600519')
    expect(normalizeCode('000001')).toBe('sz000001')
    expect(normalizeCode('300750.SZ')).toBe('sz300750')
    expect(normalizeCode('600519.SS')).toBe('sh600519')
    expect(normalizeCode(' SH600519 ')).toBe('sh600519')
    expect(normalizeCode('60051')).toBeNull()
  })

  it('shows Beijing time, with the date when not today', () => {
    const now = new Date('2026-11-25T03:00:00Z')
    expect(when('2026-11-25T01:30:03Z', 'zh-CN', now)).toBe('09:30:03')
    expect(when('2026-11-24T07:00:00Z', 'en', now)).toBe('2026-11-24 15:00:00')
    expect(when(null)).toBe('—')
  })

  it('parses what it is given, and nothing else', () => {
    expect(dec('')).toBeNull()
    expect(dec(Number.NaN)).toBeNull()
    expect(dec(' 1.50 ')?.toString()).toBe('1.5')
  })
})
