/**
 * The Backtests screen's pure parts: the request a form makes, the report's shape, and
 * the charts drawn from it (equity against the benchmark, drawdown, trades on price).
 * Money and prices stay decimal strings until a chart needs a number to draw.
 */
import type { ChartOption } from './charts'
import { DOWN, UP } from './colors'
import type { JsonSchema } from './api/types'

export type BacktestStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'

export interface Reason {
  code: string
  message: string
  message_en: string
}

export interface BacktestSummary {
  id: string
  status: BacktestStatus
  progress_done: number
  progress_total: number
  created_at: string
  created_by: string
  started_at: string | null
  finished_at: string | null
  error: Record<string, string> | null
  params: Record<string, unknown>
}

export interface ReportTrade {
  date: string
  code: string
  side: 'buy' | 'sell'
  price: string
  quantity: number
  fee: string
  strategy: string
  reason: string
}

export interface BacktestReport {
  metrics: Record<string, unknown> & { benchmark?: Record<string, unknown> | null }
  final_equity: string
  bars: number
  seconds: number
  trades: ReportTrade[]
  equity: { date: string; equity: string; cash: string; exposure: string }[]
  benchmark: { date: string; value: string }[]
  refusals: { date: string; code: string; side: string; rule: string; strategy: string }[]
  warnings: string[]
  prices?: Record<string, { date: string; close: string }[]>
}

export interface BacktestDetail extends BacktestSummary {
  result: BacktestReport | null
}

export interface StrategyOption {
  name: string
  title: string
  rule: string
  default: boolean
  param_schema: JsonSchema
}

export interface BacktestOptions {
  strategies: StrategyOption[]
  data_dirs: string[]
  fills: string[]
  rules: string[]
}

export interface DataListing {
  path: string
  entries: { name: string; path: string; kind: 'dir' | 'file' }[]
  truncated: boolean
}

/** The folder above ``path`` ('' at the top). */
export function parentPath(path: string): string {
  const cut = path.lastIndexOf('/')
  return cut < 0 ? '' : path.slice(0, cut)
}

/** ``data`` (one path a line) with ``path`` added once. */
export function withPath(data: string, path: string): string {
  const lines = data.split('\n').map((line) => line.trim()).filter(Boolean)
  return lines.includes(path) ? lines.join('\n') : [...lines, path].join('\n')
}

/** What the form holds: everything as typed text, so nothing is lost while editing. */
export interface BacktestForm {
  strategies: { name: string; params: Record<string, string | boolean> }[]
  data: string // one path a line
  databaseBars: boolean
  codes: string // comma or space separated
  start: string
  end: string
  cash: string
  fill: string
  rules: string
  commission: string
  minCommission: string
  size: string
  benchmark: string
}

export function emptyForm(): BacktestForm {
  return {
    strategies: [],
    data: '',
    databaseBars: false,
    codes: '',
    start: '',
    end: '',
    cash: '1000000',
    fill: 'next_open',
    rules: 'ashare',
    commission: '',
    minCommission: '',
    size: '',
    benchmark: '',
  }
}

/** The kind of a parameter's schema: boolean, integer, number, decimal, enum, json or string. */
export function paramKind(field: JsonSchema): string {
  if (field.enum) return 'enum'
  const own = Array.isArray(field.type) ? field.type : field.type ? [field.type] : []
  const types = [...own, ...(field.anyOf ?? []).flatMap((f) => (Array.isArray(f.type) ? f.type : f.type ? [f.type] : []))]
  if (field.$ref || field.allOf || types.includes('object') || types.includes('array')) return 'json'
  if (types.includes('number') && types.includes('string')) return 'decimal' // pydantic's Decimal
  for (const kind of ['boolean', 'integer', 'number', 'string']) if (types.includes(kind)) return kind
  return 'string'
}

/** A parameter's default as the form shows it (objects as JSON). */
export function paramText(field: JsonSchema): string {
  const value = field.default
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** Only the params that were typed in are sent (the rest are the strategy's defaults);
 * integers as integers, booleans as booleans, decimals as their text (the server
 * validates them and names a bad one). */
export function paramsOf(schema: JsonSchema, draft: Record<string, string | boolean>): Record<string, unknown> {
  const answer: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const value = draft[name]
    const kind = paramKind(field)
    if (kind === 'boolean') {
      if (typeof value === 'boolean' && value !== Boolean(field.default)) answer[name] = value
      continue
    }
    const text = typeof value === 'string' ? value.trim() : ''
    if (text === '' || text === paramText(field)) continue
    if (kind === 'json') {
      try {
        const parsed = JSON.parse(text) as unknown
        if (JSON.stringify(parsed) !== paramText(field)) answer[name] = parsed
      } catch {
        answer[name] = text // the server names what is wrong with it
      }
      continue
    }
    if (kind === 'integer' && /^-?\d+$/.test(text)) answer[name] = Number.parseInt(text, 10)
    else if (kind === 'number' && Number.isFinite(Number(text))) answer[name] = Number(text)
    else answer[name] = text
  }
  return answer
}

function words(text: string): string[] {
  return text.split(/[\s,，]+/).map((item) => item.trim()).filter(Boolean)
}

/** The body of ``POST /api/backtests`` for ``form``; empty fields are left out. */
export function requestOf(form: BacktestForm, options: BacktestOptions | null): Record<string, unknown> {
  const schemas = new Map((options?.strategies ?? []).map((s) => [s.name, s.param_schema]))
  const body: Record<string, unknown> = {
    strategies: form.strategies.map((choice) => ({
      name: choice.name,
      params: paramsOf(schemas.get(choice.name) ?? {}, choice.params),
    })),
    data: form.data.split('\n').map((line) => line.trim()).filter(Boolean),
    database_bars: form.databaseBars,
    codes: words(form.codes),
    fill: form.fill,
    rules: form.rules,
  }
  const optional: [string, string][] = [
    ['start', form.start], ['end', form.end], ['cash', form.cash], ['commission', form.commission],
    ['min_commission', form.minCommission], ['benchmark', form.benchmark],
  ]
  for (const [key, value] of optional) if (value.trim()) body[key] = value.trim()
  if (/^\d+$/.test(form.size.trim())) body.size = Number.parseInt(form.size.trim(), 10)
  else if (form.size.trim()) body.size = form.size.trim()
  return body
}

/** Progress as a whole percent (0 before the engine has counted its steps). */
export function progressPct(run: Pick<BacktestSummary, 'status' | 'progress_done' | 'progress_total'>): number {
  if (run.status === 'done') return 100
  if (run.progress_total <= 0) return 0
  return Math.min(100, Math.floor((run.progress_done / run.progress_total) * 100))
}

export function isFinal(status: BacktestStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'cancelled'
}

/** The drawdown from the running peak at each point, as a negative fraction. */
export function drawdowns(values: number[]): number[] {
  let peak = -Infinity
  return values.map((value) => {
    peak = Math.max(peak, value)
    return peak > 0 ? value / peak - 1 : 0
  })
}

export interface ChartTexts {
  equity: string
  benchmark: string
  drawdown: string
  close: string
  buy: string
  sell: string
}

const AXIS = { type: 'value' as const, scale: true, splitLine: { lineStyle: { opacity: 0.3 } } }

/** Equity and the benchmark, both as a multiple of where they started, so they compare. */
export function equityChart(report: BacktestReport, texts: ChartTexts): ChartOption {
  const first = Number(report.equity[0]?.equity ?? 1) || 1
  const benchFirst = Number(report.benchmark[0]?.value ?? 1) || 1
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 28, bottom: 28 },
    xAxis: { type: 'time' },
    yAxis: AXIS,
    series: [
      { name: texts.equity, type: 'line', showSymbol: false, data: report.equity.map((p) => [p.date, Number(p.equity) / first]) },
      ...(report.benchmark.length
        ? [{ name: texts.benchmark, type: 'line' as const, showSymbol: false, data: report.benchmark.map((p) => [p.date, Number(p.value) / benchFirst]) }]
        : []),
    ],
  }
}

/** How deep the deepest drawdown goes (a positive fraction). */
function range(values: number[]): number {
  return -values.reduce((low, value) => Math.min(low, value), 0)
}

export function drawdownChart(report: BacktestReport, texts: ChartTexts): ChartOption {
  const values = drawdowns(report.equity.map((p) => Number(p.equity)))
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 48, right: 16, top: 16, bottom: 28 },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', max: 0, axisLabel: { formatter: (v: number) => `${(v * 100).toFixed(range(values) < 0.05 ? 2 : 0)}%` } },
    series: [
      { name: texts.drawdown, type: 'line', showSymbol: false, areaStyle: { opacity: 0.25 }, color: DOWN, data: report.equity.map((p, i) => [p.date, values[i]]) },
    ],
  }
}

/** A code's closes with its buys (red) and sells (green) marked at their fill prices. */
export function tradesChart(report: BacktestReport, code: string, texts: ChartTexts): ChartOption {
  const closes = report.prices?.[code] ?? []
  const trades = report.trades.filter((trade) => trade.code === code)
  const marks = (side: 'buy' | 'sell') => trades.filter((t) => t.side === side).map((t) => [t.date, Number(t.price)])
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 28, bottom: 28 },
    xAxis: { type: 'time' },
    yAxis: AXIS,
    series: [
      { name: `${code} ${texts.close}`, type: 'line', showSymbol: false, data: closes.map((p) => [p.date, Number(p.close)]) },
      { name: texts.buy, type: 'scatter', symbol: 'triangle', symbolSize: 9, color: UP, data: marks('buy') },
      { name: texts.sell, type: 'scatter', symbol: 'triangle', symbolRotate: 180, symbolSize: 9, color: DOWN, data: marks('sell') },
    ],
  }
}

/** The metrics the report shows, in order, with how each is formatted. */
export const METRIC_ROWS: [key: string, kind: 'pct' | 'num' | 'text'][] = [
  ['total_return', 'pct'], ['annual_return', 'pct'], ['sharpe', 'num'], ['sortino', 'num'],
  ['max_drawdown', 'pct'], ['max_drawdown_peak', 'text'], ['max_drawdown_trough', 'text'],
  ['win_rate', 'pct'], ['profit_factor', 'num'], ['round_trips', 'text'], ['trades', 'text'],
  ['turnover', 'num'], ['exposure', 'pct'], ['fees_paid', 'text'], ['initial_cash', 'text'],
  ['final_equity', 'text'], ['pnl', 'text'],
]

export function metricText(value: unknown, kind: 'pct' | 'num' | 'text'): string {
  if (value === null || value === undefined || value === '') return '—'
  if (kind === 'pct' && typeof value === 'number') return `${(value * 100).toFixed(2)}%`
  if (kind === 'num' && typeof value === 'number') return value.toFixed(2)
  return String(value)
}
