/**
 * The routes of the shared API contract that the generated ``schema.d.ts`` may not hold
 * yet (they are built in parallel). ``npm run gen:api`` regenerates the schema from the
 * cloud; whatever it then contains wins over these declarations (see ``client.ts``).
 */
import type {
  AdminUser,
  AgentStatus,
  ApiKey,
  ApiKeyScope,
  AuditEntry,
  CommandAnswer,
  Decision,
  DecisionStory,
  LoginAnswer,
  Role,
  Strategy,
  User,
} from './types'

type Json<T> = { headers: { [name: string]: unknown }; content: { 'application/json': T } }

type QueryOf<Q> = [Q] extends [never] ? { query?: never } : { query?: Q }
type PathOf<P> = [P] extends [never] ? { path?: never } : { path: P }
type BodyOf<B> = [B] extends [never]
  ? { requestBody?: never }
  : { requestBody: { content: { 'application/json': B } } }

/** One operation in openapi-typescript's shape. */
export type Op<Res, Body = never, Query = never, Path = never, Status extends number = 200> = {
  parameters: QueryOf<Query> & PathOf<Path> & { header?: never; cookie?: never }
  responses: { [S in Status]: Json<Res> } & {
    422: Json<{ detail: unknown }>
  }
} & BodyOf<Body>

type NoMethods = {
  get?: never
  put?: never
  post?: never
  delete?: never
  patch?: never
  options?: never
  head?: never
  trace?: never
}

type Route<Methods> = {
  parameters: { query?: never; header?: never; path?: never; cookie?: never }
} & Omit<NoMethods, keyof Methods> &
  Methods

export interface ContractPaths {
  '/api/auth/login': Route<{
    post: Op<LoginAnswer, { username: string; password: string }>
  }>
  '/api/auth/logout': Route<{ post: Op<null, never, never, never, 204> }>
  '/api/auth/me': Route<{ get: Op<User> }>
  '/api/admin/users': Route<{
    get: Op<AdminUser[]>
    post: Op<AdminUser, { username: string; password: string; role: Role }, never, never, 201>
  }>
  '/api/admin/users/{username}': Route<{
    patch: Op<AdminUser, { role?: Role; password?: string }, never, { username: string }>
    delete: Op<unknown, never, never, { username: string }>
  }>
  '/api/admin/apikeys': Route<{
    get: Op<ApiKey[]>
    post: Op<
      { name: string; scope: ApiKeyScope; key: string },
      { name: string; scope?: ApiKeyScope },
      never,
      never,
      201
    >
  }>
  '/api/admin/apikeys/{name}': Route<{
    delete: Op<unknown, never, never, { name: string }>
  }>
  '/api/admin/settings': Route<{
    get: Op<Record<string, unknown>>
    put: Op<Record<string, unknown>, Record<string, unknown>>
  }>
  '/api/admin/audit': Route<{
    get: Op<AuditEntry[], never, { limit?: number; actor?: string; action?: string }>
  }>
  '/api/agent/status': Route<{ get: Op<AgentStatus> }>
  '/api/agent/strategies': Route<{
    get: Op<Strategy[], never, { account?: string }>
  }>
  '/api/agent/strategies/{name}': Route<{
    put: Op<
      Strategy,
      { enabled?: boolean; paused?: boolean; params?: Record<string, unknown> },
      { account?: string },
      { name: string }
    >
  }>
  '/api/agent/reload': Route<{
    post: Op<{ loaded: string[]; errors: unknown[] }>
  }>
  '/api/decisions': Route<{
    get: Op<
      Decision[],
      never,
      {
        account?: string
        strategy?: string
        code?: string
        verdict?: 'accepted' | 'rejected'
        since?: string
        until?: string
        limit?: number
        before_id?: string
      }
    >
  }>
  '/api/decisions/{decision_id}': Route<{
    get: Op<DecisionStory, never, never, { decision_id: string }>
  }>
  '/api/cloud-local-trading/cancel-order': Route<{
    post: Op<CommandAnswer, { order_id: string; account?: string | null }>
  }>
  '/api/exports/{command_id}/{kind}': Route<{
    get: Op<
      string,
      never,
      { format?: 'ths' | 'csv' },
      { command_id: string; kind: 'positions' | 'trades' | 'orders' }
    >
  }>
}
