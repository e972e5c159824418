/**
 * The typed API client: openapi-fetch over the generated schema (``schema.d.ts``) and
 * the contract routes (``contract.ts``), with the browser's session cookie.
 *
 * Every call resolves to the answer's body or throws an {@link ApiError} carrying the
 * server's ``detail`` (code, Chinese and English message). A 401 from anything but the
 * login call is reported to the handler set with {@link onUnauthorized} (the app sends
 * the user to the login page).
 */
import createClient, { type Middleware } from 'openapi-fetch'
import type { BacktestDetail, BacktestOptions, BacktestSummary, DataListing } from '../backtest'
import type { ContractPaths } from './contract'
import type { paths as GeneratedPaths } from './schema'
import type {
  Account,
  AdminUser,
  AgentStatus,
  ApiKey,
  ApiKeyScope,
  AuditEntry,
  Bar,
  Command,
  CommandAnswer,
  Decision,
  DecisionStory,
  EquityPoint,
  ErrorDetail,
  Health,
  LoginAnswer,
  Node,
  NodeToken,
  Order,
  Position,
  Quote,
  RiskLimits,
  RiskStates,
  Role,
  Strategy,
  Trade,
  TradingStateName,
  User,
} from './types'

export type Paths = Omit<GeneratedPaths, keyof ContractPaths> & ContractPaths

export class ApiError extends Error {
  readonly status: number
  readonly detail: ErrorDetail

  constructor(status: number, detail: ErrorDetail) {
    super(`${detail.code}: ${detail.message_en || detail.message}`)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
  }

  /** The error of an HTTP answer, whatever shape its body has. */
  static from(status: number, body: unknown): ApiError {
    const raw = (body as { detail?: unknown } | null | undefined)?.detail
    if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'code' in raw) {
      const detail = raw as ErrorDetail
      return new ApiError(status, {
        ...detail,
        message: String(detail.message ?? ''),
        message_en: String(detail.message_en ?? detail.message ?? ''),
      })
    }
    if (Array.isArray(raw)) {
      // FastAPI's own validation errors: [{loc, msg, type}, ...]
      const text = raw
        .map((item: { loc?: unknown[]; msg?: string }) =>
          `${(item.loc ?? []).slice(1).join('.')}: ${item.msg ?? ''}`.trim(),
        )
        .join('; ')
      return new ApiError(status, { code: 'invalid_request', message: text, message_en: text })
    }
    const text = typeof raw === 'string' ? raw : `HTTP ${status}`
    return new ApiError(status, { code: `http_${status}`, message: text, message_en: text })
  }
}

type UnauthorizedHandler = () => void
let unauthorizedHandler: UnauthorizedHandler | null = null

/** Called on a 401 (the session ended or never was). */
export function onUnauthorized(handler: UnauthorizedHandler | null): void {
  unauthorizedHandler = handler
}

const LOGIN_PATH = '/api/auth/login'

const authMiddleware: Middleware = {
  onResponse({ response, request }) {
    if (response.status === 401 && !new URL(request.url).pathname.endsWith(LOGIN_PATH)) {
      unauthorizedHandler?.()
    }
    return undefined
  },
}

export interface ApiOptions {
  baseUrl?: string
  fetch?: typeof globalThis.fetch
}

type Answer = { data?: unknown; error?: unknown; response: Response }

async function unwrap<T>(call: Promise<Answer>): Promise<T> {
  let answer: Answer
  try {
    answer = await call
  } catch (exc) {
    const text = exc instanceof Error ? exc.message : String(exc)
    throw new ApiError(0, { code: 'network', message: `网络错误：${text}`, message_en: `network error: ${text}` })
  }
  if (!answer.response.ok) throw ApiError.from(answer.response.status, answer.error)
  return answer.data as T
}

/** The file name of a download (RFC 5987 ``filename*`` first). */
export function dispositionName(header: string | null, fallback: string): string {
  if (!header) return fallback
  const star = /filename\*=(?:UTF-8|utf-8)''([^;]+)/.exec(header)
  if (star?.[1]) return decodeURIComponent(star[1].trim())
  const plain = /filename="?([^";]+)"?/.exec(header)
  return plain?.[1]?.trim() || fallback
}

export function createApi(options: ApiOptions = {}) {
  const baseUrl =
    options.baseUrl ?? (typeof window !== 'undefined' ? window.location.origin : 'http://localhost')
  const client = createClient<Paths>({
    baseUrl,
    credentials: 'same-origin',
    fetch: options.fetch,
  })
  client.use(authMiddleware)

  return {
    client,
    baseUrl,
    // -- people ---------------------------------------------------------------------
    login: (username: string, password: string) =>
      unwrap<LoginAnswer>(client.POST('/api/auth/login', { body: { username, password } })),
    logout: () => unwrap<null>(client.POST('/api/auth/logout', { parseAs: 'text' })),
    me: () => unwrap<User>(client.GET('/api/auth/me')),
    // -- overview -------------------------------------------------------------------
    health: () => unwrap<Health>(client.GET('/api/health')),
    accounts: () => unwrap<Account[]>(client.GET('/api/accounts')),
    /** The account's equity history, oldest first (the newest ``limit`` points in range). */
    equity: (account: string, query: { start?: string; end?: string; limit?: number } = {}) =>
      unwrap<EquityPoint[]>(
        client.GET('/api/accounts/{account}/equity', { params: { path: { account }, query } }),
      ),
    nodes: () => unwrap<Node[]>(client.GET('/api/nodes')),
    riskState: () => unwrap<RiskStates>(client.GET('/api/risk/state', {})),
    setRiskState: (state: TradingStateName, reason: string, account?: string | null) =>
      unwrap<unknown>(
        client.PUT('/api/risk/state', {
          // No source: the server records "dashboard" for a logged-in person.
          body: { state, reason, account: account ?? null },
        }),
      ),
    riskLimits: (account?: string | null) =>
      unwrap<RiskLimits>(
        client.GET('/api/risk/limits', { params: { query: account ? { account } : {} } }),
      ),
    setRiskLimits: (limits: Record<string, unknown>, account?: string | null) =>
      unwrap<RiskLimits>(
        client.PUT('/api/risk/limits', {
          body: { limits, account: account ?? null, reset: false },
        }),
      ),
    agentStatus: () => unwrap<AgentStatus>(client.GET('/api/agent/status')),
    commands: (limit = 200) =>
      unwrap<Command[]>(client.GET('/api/commands', { params: { query: { limit } } })),
    command: (commandId: string) =>
      unwrap<Command>(
        client.GET('/api/commands/{command_id}', { params: { path: { command_id: commandId } } }),
      ),
    // -- market ---------------------------------------------------------------------
    quotes: (codes: string[]) =>
      unwrap<Quote[]>(client.GET('/api/quotes', { params: { query: { codes: codes.join(',') } } })),
    quote: (code: string) =>
      unwrap<Quote>(client.GET('/api/quotes/{code}', { params: { path: { code } } })),
    bars: (code: string, freq: '1m' | '1d', limit = 600) =>
      unwrap<Bar[]>(
        client.GET('/api/bars/{code}', { params: { path: { code }, query: { freq, limit } } }),
      ),
    // -- trading --------------------------------------------------------------------
    positions: (account?: string) =>
      unwrap<Position[]>(
        client.GET('/api/positions', { params: { query: account ? { account } : {} } }),
      ),
    orders: (limit = 200, account?: string) =>
      unwrap<Order[]>(
        client.GET('/api/orders', { params: { query: { limit, ...(account ? { account } : {}) } } }),
      ),
    trades: (limit = 200, account?: string, code?: string) =>
      unwrap<Trade[]>(
        client.GET('/api/trades', {
          params: { query: { limit, ...(account ? { account } : {}), ...(code ? { code } : {}) } },
        }),
      ),
    executeTrade: (body: {
      action: 'buy' | 'sell'
      stock_code: string
      quantity: number
      price: string | null
      account?: string | null
    }) =>
      unwrap<CommandAnswer>(
        client.POST('/api/cloud-local-trading/execute-trade', {
          body: { ...body, account: body.account ?? null },
        }),
      ),
    cancelOrder: (orderId: string, account?: string | null) =>
      unwrap<CommandAnswer>(
        client.POST('/api/cloud-local-trading/cancel-order', {
          body: { order_id: orderId, account: account ?? null },
        }),
      ),
    exportData: (dataType: 'positions' | 'trades' | 'orders', account?: string | null) =>
      unwrap<CommandAnswer>(
        client.POST('/api/cloud-local-trading/export-data', {
          body: { data_type: dataType, account: account ?? null },
        }),
      ),
    /** The file of a finished export command, with the name the server gives it. */
    async exportFile(
      commandId: string,
      kind: 'positions' | 'trades' | 'orders',
      format: 'ths' | 'csv' = 'csv',
    ): Promise<{ blob: Blob; name: string }> {
      const answer = await client.GET('/api/exports/{command_id}/{kind}', {
        params: { path: { command_id: commandId, kind }, query: { format } },
        parseAs: 'blob',
      })
      if (!answer.response.ok) {
        let body: unknown = answer.error
        if (answer.error instanceof Blob) {
          try {
            body = JSON.parse(await answer.error.text())
          } catch {
            body = null
          }
        }
        throw ApiError.from(answer.response.status, body)
      }
      const name = dispositionName(
        answer.response.headers.get('content-disposition'),
        `${kind}-${commandId}.${format === 'csv' ? 'csv' : 'xls'}`,
      )
      return { blob: answer.data as Blob, name }
    },
    // -- decisions and agent --------------------------------------------------------
    decisions: (query: {
      account?: string
      strategy?: string
      code?: string
      verdict?: 'accepted' | 'rejected'
      limit?: number
      before_id?: string
    }) => unwrap<Decision[]>(client.GET('/api/decisions', { params: { query } })),
    decision: (id: string) =>
      unwrap<DecisionStory>(
        client.GET('/api/decisions/{decision_id}', { params: { path: { decision_id: id } } }),
      ),
    strategies: (account?: string) =>
      unwrap<Strategy[]>(
        client.GET('/api/agent/strategies', { params: { query: account ? { account } : {} } }),
      ),
    updateStrategy: (
      name: string,
      change: { enabled?: boolean; paused?: boolean; params?: Record<string, unknown> },
      account?: string,
    ) =>
      unwrap<Strategy>(
        client.PUT('/api/agent/strategies/{name}', {
          params: { path: { name }, query: account ? { account } : {} },
          body: change,
        }),
      ),
    reloadStrategies: () =>
      unwrap<{ loaded: string[]; errors: unknown[] }>(client.POST('/api/agent/reload')),
    // -- backtests ------------------------------------------------------------------
    backtestOptions: () => unwrap<BacktestOptions>(client.GET('/api/backtests/options')),
    /** The folders and files a run's data may name (``path`` relative to the data folders). */
    backtestData: (path = '') =>
      unwrap<DataListing>(client.GET('/api/backtests/data', { params: { query: { path } } })),
    backtests: (limit = 20, offset = 0) =>
      unwrap<{ items: BacktestSummary[]; total: number }>(
        client.GET('/api/backtests', { params: { query: { limit, offset } } }),
      ),
    backtest: (id: string) =>
      unwrap<BacktestDetail>(
        client.GET('/api/backtests/{backtest_id}', { params: { path: { backtest_id: id } } }),
      ),
    submitBacktest: (body: Record<string, unknown>) =>
      unwrap<BacktestSummary>(
        client.POST('/api/backtests', {
          body: body as Paths['/api/backtests']['post']['requestBody']['content']['application/json'],
        }),
      ),
    cancelBacktest: (id: string) =>
      unwrap<BacktestSummary>(
        client.POST('/api/backtests/{backtest_id}/cancel', { params: { path: { backtest_id: id } } }),
      ),
    /** Where the run's self-contained HTML report is (opened in a new tab). */
    backtestReportUrl: (id: string) => `${baseUrl}/api/backtests/${encodeURIComponent(id)}/report.html`,
    // -- admin ----------------------------------------------------------------------
    users: () => unwrap<AdminUser[]>(client.GET('/api/admin/users')),
    addUser: (username: string, password: string, role: Role) =>
      unwrap<AdminUser>(client.POST('/api/admin/users', { body: { username, password, role } })),
    updateUser: (username: string, change: { role?: Role; password?: string }) =>
      unwrap<AdminUser>(
        client.PATCH('/api/admin/users/{username}', {
          params: { path: { username } },
          body: change,
        }),
      ),
    removeUser: (username: string) =>
      unwrap<unknown>(
        client.DELETE('/api/admin/users/{username}', { params: { path: { username } } }),
      ),
    nodeTokens: () => unwrap<NodeToken[]>(client.GET('/api/nodes/tokens')),
    createNodeToken: (name: string, account: string) =>
      unwrap<{ name: string; account: string; token: string }>(
        client.POST('/api/nodes/tokens', { body: { name, account } }),
      ),
    revokeNodeToken: (name: string) =>
      unwrap<unknown>(client.DELETE('/api/nodes/tokens/{name}', { params: { path: { name } } })),
    apiKeys: () => unwrap<ApiKey[]>(client.GET('/api/admin/apikeys')),
    createApiKey: (name: string, scope: ApiKeyScope = 'trade') =>
      unwrap<{ name: string; scope: ApiKeyScope; key: string }>(
        client.POST('/api/admin/apikeys', { body: { name, scope } }),
      ),
    revokeApiKey: (name: string) =>
      unwrap<unknown>(client.DELETE('/api/admin/apikeys/{name}', { params: { path: { name } } })),
    settings: () => unwrap<Record<string, unknown>>(client.GET('/api/admin/settings')),
    saveSettings: (values: Record<string, unknown>) =>
      unwrap<Record<string, unknown>>(client.PUT('/api/admin/settings', { body: values })),
    audit: (query: { limit?: number; actor?: string; action?: string }) =>
      unwrap<AuditEntry[]>(client.GET('/api/admin/audit', { params: { query } })),
  }
}

export type Api = ReturnType<typeof createApi>

let current: Api | null = null

/** The app's client (created on first use; tests install their own). */
export function useApi(): Api {
  current ??= createApi()
  return current
}

export function installApi(api: Api | null): void {
  current = api
}
