/**
 * Positions, the day's orders and trades, the manual order ticket, cancels and exports.
 *
 * "Today" is the Beijing trading day of the newest order or trade (the market may run
 * on a simulated clock), and the tables say which day it is.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, useApi } from '../api/client'
import type { CommandAnswer, Order, Position, Trade } from '../api/types'
import { dec } from '../format'

export type ExportKind = 'positions' | 'trades' | 'orders'

export interface Ticket {
  code: string
  side: 'buy' | 'sell'
  price: string
  quantity: string
  market: boolean
  account?: string | null
}

export interface Verdict {
  verdict: 'accepted' | 'rejected'
  /** The rule that refused it (or the error code), for a rejection. */
  rule: string | null
  message: string
  message_en: string
  values: Record<string, unknown> | null
  decisionId: string | null
  command: CommandAnswer | null
}

/** Order statuses a cancel can still act on (domain/orders.py OrderStatus). */
export const OPEN_STATUSES = new Set(['new', 'submitted', 'partially_filled'])

/** The Beijing calendar day of an ISO moment ("2026-11-25"). */
export function beijingDay(iso: string): string {
  const moment = new Date(iso)
  if (Number.isNaN(moment.getTime())) return ''
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(moment)
}

/** Check a ticket before sending it; the answer is a [zh, en] reason or null. */
export function ticketProblem(ticket: Ticket): [string, string] | null {
  if (!ticket.code.trim()) return ['请输入代码', 'enter a code']
  const quantity = dec(ticket.quantity)
  if (quantity === null || !quantity.isInteger() || quantity.lessThanOrEqualTo(0)) {
    return ['数量必须是正整数', 'the quantity must be a positive whole number']
  }
  if (!ticket.market) {
    const price = dec(ticket.price)
    if (price === null || price.lessThanOrEqualTo(0)) {
      return ['限价单需要正的价格', 'a limit order needs a positive price']
    }
  }
  return null
}

export type Downloader = (blob: Blob, name: string) => void

export const browserDownload: Downloader = (blob, name) => {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export const tradingOptions = {
  download: browserDownload as Downloader,
  /** How often and how long to wait for an export command the node is still running. */
  pollMs: 500,
  exportTimeoutMs: 60_000,
}

export const useTradingStore = defineStore('trading', () => {
  const positions = ref<Position[]>([])
  const orders = ref<Order[]>([])
  const trades = ref<Trade[]>([])
  const loaded = ref(false)
  const verdict = ref<Verdict | null>(null)
  const submitting = ref(false)
  const exporting = ref<ExportKind | null>(null)

  const day = computed(() => {
    const moments = [...orders.value.map((order) => order.created_at), ...trades.value.map((trade) => trade.ts)]
    const days = moments.map(beijingDay).filter(Boolean).sort()
    return days.at(-1) ?? beijingDay(new Date().toISOString())
  })
  const todayOrders = computed(() => orders.value.filter((order) => beijingDay(order.created_at) === day.value))
  const todayTrades = computed(() => trades.value.filter((trade) => beijingDay(trade.ts) === day.value))

  async function refresh(account?: string): Promise<void> {
    const api = useApi()
    const [p, o, t] = await Promise.all([api.positions(account), api.orders(500, account), api.trades(500, account)])
    positions.value = p
    orders.value = o
    trades.value = t
    loaded.value = true
  }

  /** Send the ticket through the risk gate; the verdict is kept in ``verdict``. */
  async function submit(ticket: Ticket): Promise<Verdict> {
    submitting.value = true
    try {
      const answer = await useApi().executeTrade({
        action: ticket.side,
        stock_code: ticket.code.trim(),
        quantity: Number.parseInt(ticket.quantity, 10),
        // the price travels as the decimal string typed; never through a float
        price: ticket.market ? null : ticket.price.trim(),
        account: ticket.account ?? null,
      })
      const brokerRefused = answer.status === 'rejected' || answer.status === 'failed'
      const reason = (answer.result?.reason as string | undefined) ?? (answer.result?.message as string | undefined) ?? ''
      verdict.value = {
        verdict: brokerRefused ? 'rejected' : 'accepted',
        rule: brokerRefused ? `broker_${answer.status}` : null,
        message: brokerRefused ? `券商拒绝：${reason || answer.status}` : `指令状态：${answer.status}`,
        message_en: brokerRefused ? `refused by the broker: ${reason || answer.status}` : `command status: ${answer.status}`,
        values: null,
        decisionId: null,
        command: answer,
      }
    } catch (exc) {
      if (!(exc instanceof ApiError) || exc.status === 401 || exc.status === 0) throw exc
      verdict.value = {
        verdict: 'rejected',
        rule: exc.detail.code,
        message: exc.detail.message,
        message_en: exc.detail.message_en,
        values: exc.detail.values ?? null,
        decisionId: exc.detail.decision_id ?? null,
        command: null,
      }
    } finally {
      submitting.value = false
    }
    void refresh().catch(() => undefined)
    return verdict.value
  }

  async function cancel(order: Order): Promise<CommandAnswer> {
    const answer = await useApi().cancelOrder(order.id, order.account)
    await refresh()
    return answer
  }

  /** Wait for a command the node is still running; its final status. */
  async function finished(commandId: string, status: string): Promise<string> {
    const deadline = Date.now() + tradingOptions.exportTimeoutMs
    let current = status
    while (!['done', 'rejected', 'failed', 'expired', 'unknown'].includes(current)) {
      if (Date.now() > deadline) {
        throw new ApiError(408, { code: 'export_timeout', message: '导出超时', message_en: 'the export timed out' })
      }
      await new Promise((resolve) => setTimeout(resolve, tradingOptions.pollMs))
      current = (await useApi().command(commandId)).status
    }
    return current
  }

  /** Ask the node for an export, wait for it, and download the file. */
  async function exportFile(kind: ExportKind, format: 'ths' | 'csv' = 'csv', account?: string | null): Promise<string> {
    exporting.value = kind
    try {
      const api = useApi()
      const answer = await api.exportData(kind, account)
      const status = await finished(answer.command_id, answer.status)
      if (status !== 'done') {
        throw new ApiError(409, {
          code: `export_${status}`,
          message: `导出未完成：${status}`,
          message_en: `the export did not finish: ${status}`,
        })
      }
      const file = await api.exportFile(answer.command_id, kind, format)
      tradingOptions.download(file.blob, file.name)
      return file.name
    } finally {
      exporting.value = null
    }
  }

  return { positions, orders, trades, loaded, verdict, submitting, exporting, day, todayOrders, todayTrades, refresh, submit, cancel, exportFile }
})
