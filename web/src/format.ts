/**
 * Display of money, prices, percentages and big numbers.
 *
 * Values arrive as decimal strings and stay exact: every computation goes through
 * decimal.js-light, never through JS floats (0.1 + 0.2 must not reach a trader's eyes).
 * Colours follow the Chinese convention: red (``up``) for a rise, green (``down``) for
 * a fall; the CSS classes are defined in ``style.css``.
 */
import Decimal from 'decimal.js-light'

export type Lang = 'zh-CN' | 'en'
export type Numeric = string | number | Decimal | null | undefined

const DASH = '—'

/** ``value`` as a Decimal, or null when it is missing or not a number. */
export function dec(value: Numeric): Decimal | null {
  if (value === null || value === undefined || value === '') return null
  if (value instanceof Decimal) return value
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  try {
    return new Decimal(typeof value === 'number' ? String(value) : value.trim())
  } catch {
    return null
  }
}

function group(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** Fixed ``places`` with thousands separators; ``signed`` adds "+" to a positive. */
export function fixed(value: Numeric, places = 2, signed = false): string {
  const number = dec(value)
  if (number === null) return DASH
  const text = number.toFixed(places, Decimal.ROUND_HALF_UP)
  const negative = text.startsWith('-')
  const body = negative ? text.slice(1) : text
  const [integer = '0', fraction] = body.split('.')
  const grouped = group(integer) + (fraction ? `.${fraction}` : '')
  const isZero = new Decimal(body).isZero()
  if (negative && !isZero) return `-${grouped}`
  if (signed && !isZero && !negative) return `+${grouped}`
  return grouped
}

/** Money in CNY: two places, grouped ("1,234,567.89"). */
export function money(value: Numeric): string {
  return fixed(value, 2)
}

/** A change of money with its sign ("+1,200.00", "-35.10"). */
export function signedMoney(value: Numeric): string {
  return fixed(value, 2, true)
}

/**
 * A price as sent, with at least two places and no float noise ("1488.00", "3.456").
 * Prices keep the exchange's tick (ETFs trade in 0.001).
 */
export function price(value: Numeric): string {
  const number = dec(value)
  if (number === null) return DASH
  const places = Math.max(2, number.decimalPlaces())
  return fixed(number, Math.min(places, 4))
}

/** A percentage that is already in percent ("1.2" -> "+1.20%"). */
export function percent(value: Numeric, places = 2): string {
  const text = fixed(value, places, true)
  return text === DASH ? DASH : `${text}%`
}

/** A ratio as a percentage without sign ("0.1" -> "10.00%"), for limits and weights. */
export function ratio(value: Numeric, places = 2): string {
  const number = dec(value)
  return number === null ? DASH : `${fixed(number.times(100), places)}%`
}

/** The change of ``last`` over ``base`` in percent, exact. */
export function changePct(last: Numeric, base: Numeric): Decimal | null {
  const a = dec(last)
  const b = dec(base)
  if (a === null || b === null || b.isZero()) return null
  return a.minus(b).dividedBy(b).times(100)
}

const ZH_UNITS: [Decimal, string][] = [
  [new Decimal('1e8'), '亿'],
  [new Decimal('1e4'), '万'],
]
const EN_UNITS: [Decimal, string][] = [
  [new Decimal('1e9'), 'B'],
  [new Decimal('1e6'), 'M'],
  [new Decimal('1e3'), 'K'],
]

/**
 * A volume or an amount in units a reader takes in at a glance: 万 / 亿 in Chinese
 * (12345678 -> "1234.57万", 3.2e9 -> "32.00亿"), K / M / B in English.
 */
export function bigNumber(value: Numeric, lang: Lang = 'zh-CN', places = 2): string {
  const number = dec(value)
  if (number === null) return DASH
  const units = lang === 'en' ? EN_UNITS : ZH_UNITS
  const size = number.abs()
  for (const [unit, label] of units) {
    if (size.greaterThanOrEqualTo(unit)) return `${fixed(number.dividedBy(unit), places)}${label}`
  }
  return number.isInteger() ? fixed(number, 0) : fixed(number, places)
}

/** Volume in shares; Chinese readers count in 手 elsewhere, here we keep shares. */
export function volume(value: Numeric, lang: Lang = 'zh-CN'): string {
  return bigNumber(value, lang)
}

export type Trend = 'up' | 'down' | 'flat'

/** Red for up, green for down (the Chinese convention), grey for no change. */
export function trend(value: Numeric): Trend {
  const number = dec(value)
  if (number === null || number.isZero()) return 'flat'
  return number.isNegative() ? 'down' : 'up'
}

/** The CSS class for a change: ``up`` (red), ``down`` (green) or ``flat``. */
export function trendClass(value: Numeric): string {
  return `trend-${trend(value)}`
}

/** The sum of decimal strings, exact. */
export function sum(values: Numeric[]): Decimal {
  return values.reduce<Decimal>((total, item) => {
    const number = dec(item)
    return number === null ? total : total.plus(number)
  }, new Decimal(0))
}

const BEIJING = 'Asia/Shanghai'

/** A moment as Beijing wall-clock time: "09:31:05", or with the date when not today. */
export function when(iso: string | null | undefined, lang: Lang = 'zh-CN', now = new Date()): string {
  if (!iso) return DASH
  const moment = new Date(iso)
  if (Number.isNaN(moment.getTime())) return DASH
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: BEIJING, dateStyle: 'short' })
  const sameDay = day.format(moment) === day.format(now)
  const time = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: BEIJING,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(moment)
  return sameDay ? time : `${day.format(moment)} ${time}`
}

/** "sh600519" -> "600519" for compact tables (the exchange shows as a prefix badge). */
export function shortCode(code: string): string {
  return code.replace(/^(sh|sz|bj)/i, '')
}

/** Normalise a code as typed ("600519", "600519.SH", "SZ000001") to "sh600519". */
export function normalizeCode(text: string): string | null {
  const raw = text.trim().toLowerCase()
  let match = /^(sh|sz|bj)(\d{6})$/.exec(raw)
  if (match) return `${match[1]}${match[2]}`
  match = /^(\d{6})\.(sh|sz|bj|ss)$/.exec(raw)
  if (match) return `${match[2] === 'ss' ? 'sh' : match[2]}${match[1]}`
  if (/^\d{6}$/.test(raw)) {
    const head = raw[0]
    if (head === '6' || head === '5' || head === '9') return `sh${raw}`
    if (head === '0' || head === '1' || head === '2' || head === '3') return `sz${raw}`
    if (head === '4' || head === '8') return `bj${raw}`
  }
  return null
}
