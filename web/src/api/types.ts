/**
 * Shapes of the API's answers as the dashboard reads them.
 *
 * Many routes answer plain JSON objects (``dict[str, Any]``), so the generated schema
 * types them loosely; these interfaces name the fields we use. Money and prices are
 * decimal strings: keep them strings and use ``format.ts`` (decimal.js-light) on them.
 */

export type Role = 'viewer' | 'trader' | 'admin'
export type DecimalString = string

export interface ErrorDetail {
  code: string
  message: string
  message_en: string
  values?: Record<string, unknown>
  decision_id?: string
}

export interface User {
  username: string
  role: Role
  expires_at?: string
}

export interface LoginAnswer {
  user: { username: string; role: Role }
  expires_at: string
  token: string
}

export interface Account {
  id: string
  node_id: string | null
  paper: boolean
  cash: DecimalString
  frozen_cash: DecimalString
  equity: DecimalString
  updated_at: string
  /** ``equity - day_start_equity``; null while the account has no equity history. */
  pnl_today?: DecimalString | null
  /** The equity of the last snapshot before today's 09:15 (Beijing), else today's first. */
  day_start_equity?: DecimalString | null
  /** When that snapshot was taken: today's equity curve starts there. */
  day_start_at?: string | null
}

/** One point of an account's equity history (``GET /api/accounts/{account}/equity``). */
export interface EquityPoint {
  ts: string
  equity: DecimalString
  cash: DecimalString
}

export interface Position {
  account: string
  symbol: string
  total: number
  available: number
  cost_price: DecimalString
  last_price: DecimalString | null
  updated_at: string
}

export interface Order {
  id: string
  account: string
  node_id: string | null
  command_id: string | null
  symbol: string
  side: 'buy' | 'sell'
  type: string
  quantity: number
  price: DecimalString | null
  status: string
  filled_quantity: number
  filled_amount: DecimalString
  broker_order_id: string | null
  reason: string
  created_at: string
  updated_at: string
}

export interface Trade {
  id: string
  order_id: string
  account: string
  node_id: string | null
  symbol: string
  side: 'buy' | 'sell'
  quantity: number
  price: DecimalString
  amount: DecimalString
  commission: DecimalString
  stamp_duty: DecimalString
  transfer_fee: DecimalString
  ts: string
}

export interface Quote {
  code: string
  name: string
  ts: string
  last: DecimalString
  previous_close: DecimalString
  change_pct: DecimalString
  open: DecimalString
  high: DecimalString
  low: DecimalString
  volume: number
  amount: DecimalString
  bids?: [DecimalString, number][]
  asks?: [DecimalString, number][]
  limit_up?: DecimalString | null
  limit_down?: DecimalString | null
  no_limit?: boolean // no price limit today (a new listing's first days)
}

export interface Bar {
  code: string
  freq: '1m' | '1d'
  end: string
  open: DecimalString
  high: DecimalString
  low: DecimalString
  close: DecimalString
  volume: number
  amount: DecimalString | null
}

export interface CommandAnswer {
  success: boolean
  command_id: string
  status: string
  node_id: string
  result: Record<string, unknown> | null
  status_url: string
}

export interface Command {
  id: string
  type: string
  node_id: string | null
  account: string | null
  status: string
  data: Record<string, unknown>
  result: Record<string, unknown> | null
  decision_id?: string | null
  issued_at: string
  finished_at: string | null
  updated_at: string
}

export interface Node {
  id: string
  account: string
  broker: string
  status: 'online' | 'degraded' | 'offline' | string
  connection_id: string | null
  last_seen: string | null
  registered_at: string
  last_seq?: number
}

export interface NodeToken {
  name: string
  account: string
  prefix: string
  created_at: string
  revoked_at: string | null
}

export type TradingStateName = 'active' | 'reducing' | 'halted'

export interface StateRecord {
  state: TradingStateName
  reason: string
  actor: string
  source: string
  changed_at: string | null
}

export interface RiskStates {
  global: StateRecord
  accounts: Record<string, StateRecord>
  account?: string
  effective?: StateRecord
}

export interface RiskLimits {
  account: string | null
  limits: Record<string, string | number | null>
  changes: Record<string, unknown>
  defaults: Record<string, string | number | null>
}

export interface AgentStatus {
  running: boolean
  interval_s: number
  last_run_at: string | null
  last_duration_ms: number | null
  accounts: { account: string; traded?: boolean; active?: string[] }[]
  strategies_loaded: string[]
  errors: { strategy: string; message: string; at: string }[]
}

export interface JsonSchema {
  type?: string | string[]
  title?: string
  description?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  enum?: unknown[]
  minimum?: number
  maximum?: number
  default?: unknown
  format?: string
  anyOf?: JsonSchema[]
  allOf?: JsonSchema[]
  $ref?: string
}

export interface Strategy {
  name: string
  title: string
  title_en: string
  description: string
  enabled: boolean
  paused: boolean
  params: Record<string, unknown>
  param_schema: JsonSchema
  source: string
}

export interface Decision {
  id: string
  ts: string
  account: string
  strategy: string
  action?: string
  side?: string
  code?: string
  symbol?: string
  quantity: number
  price: DecimalString | null
  confidence?: DecimalString | number | null
  reason: string
  verdict: 'accepted' | 'rejected'
  rule: string | null
  command_id: string | null
  outcome?: string | Record<string, unknown> | null
}

export interface DecisionOutcome {
  status: string
  filled_quantity: number
  avg_price: DecimalString | null
  broker_message: string | null
}

export interface DecisionStory extends Omit<Decision, 'outcome'> {
  inputs: Record<string, unknown>
  risk: {
    verdict: string
    rule: string | null
    values: Record<string, unknown>
    message: string | null
    message_en: string | null
  } | null
  command: Command | null
  outcome: DecisionOutcome | null
  events: { ts: string; kind: string; detail: unknown }[]
}

export interface AdminUser {
  username: string
  role: Role
  created_at: string
}

/** What an API key may do: read (acts as viewer), trade (trader), admin (admin). */
export type ApiKeyScope = 'read' | 'trade' | 'admin'

export interface ApiKey {
  name: string
  prefix: string
  scope: ApiKeyScope
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export interface AuditEntry {
  id: number | string
  ts: string
  actor: string
  action: string
  target: string
  detail: unknown
}

export interface Health {
  status: string
  version: string
  nodes_online: number
  symbols: number
  market_time: string
}
