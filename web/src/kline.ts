/** K-line data: moving averages and markers, computed exactly on decimal strings. */
import Decimal from 'decimal.js-light'
import type { Bar } from './api/types'
import { dec } from './format'

/** The simple moving average of closes over ``window`` bars (null until enough bars). */
export function movingAverage(bars: Bar[], window: number): (string | null)[] {
  const answer: (string | null)[] = []
  let total = new Decimal(0)
  const closes = bars.map((bar) => dec(bar.close) ?? new Decimal(0))
  closes.forEach((close, index) => {
    total = total.plus(close)
    const dropped = closes[index - window]
    if (dropped !== undefined) total = total.minus(dropped)
    answer.push(index >= window - 1 ? total.dividedBy(window).toFixed(3) : null)
  })
  return answer
}

/**
 * The index of the bar a moment belongs to: bars are labelled by their end, so a moment
 * belongs to the first bar ending at or after it (1d bars: the same Beijing day).
 */
export function barIndexAt(bars: Bar[], iso: string, freq: '1m' | '1d'): number {
  const moment = Date.parse(iso)
  if (Number.isNaN(moment) || bars.length === 0) return -1
  if (freq === '1d') {
    const day = beijingDate(moment)
    return bars.findIndex((bar) => beijingDate(Date.parse(bar.end)) === day)
  }
  for (let index = 0; index < bars.length; index += 1) {
    const bar = bars[index]
    if (!bar) continue
    const end = Date.parse(bar.end)
    if (moment <= end && moment > end - 60_000) return index
  }
  return -1
}

function beijingDate(ms: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(ms))
}
