/** Dashboard texts: zh-CN (default) and en. Keep the two trees the same shape. */
const zh = {
  app: { title: 'aigupiao 控制台', loading: '加载中…', retry: '重试', save: '保存', cancel: '取消', ok: '确定', close: '关闭', refresh: '刷新', remove: '删除', yes: '是', no: '否', none: '无', all: '全部', more: '加载更多', since: '更新于' },
  nav: { overview: '总览', market: '行情', trading: '交易', decisions: '决策', agent: '策略', replay: '实盘对比', admin: '管理', positions: '持仓', orders: '委托', kill: '急停', notifications: '通知' },
  shell: { lang: 'English', logout: '退出', notifications: '通知', noNotifications: '暂无成交或拒单通知', role: { viewer: '只读', trader: '交易员', admin: '管理员' } },
  login: { title: '登录', username: '用户名', password: '密码', submit: '登录', busy: '登录中…', hint: '首次启动时 aigupiao up 会打印管理员密码（也写入 var/credentials.json）。' },
  overview: {
    accounts: '账户', equity: '总资产', cash: '可用资金', pnlToday: '今日盈亏', pnlEstimated: '按持仓估算（昨收/成本），不含今日已平仓部分', paper: '模拟', noAccounts: '还没有账户：本地节点连接后会出现。',
    equityCurve: '资产曲线', noCurve: '资产曲线需要至少两个资产快照（开市期间每分钟按最新行情估值记录，成交后也会记录）；目前还没有。',
    state: '交易状态', halt: '全部停止', reducing: '只减仓', resume: '恢复交易', confirmTitle: '确认切换交易状态', confirmText: '把全部账户的交易状态改为 {state}？', reason: '原因（写入审计日志）',
    states: { active: 'ACTIVE 正常交易', reducing: 'REDUCING 只减仓', halted: 'HALTED 已停止' },
    changedBy: '{actor} 于 {at} 设置', nodes: '本地节点', noNodes: '还没有节点注册过。', online: '在线', degraded: '心跳延迟', offline: '离线', lastSeen: '最后心跳',
    agent: 'Agent 状态', agentRunning: '运行中', agentStopped: '已停止', agentUnavailable: 'Agent 状态不可用：{reason}', interval: '间隔', lastRun: '上次运行', duration: '耗时', strategies: '已加载策略', errors: '错误',
    fills: '最新成交', noFills: '今天还没有成交。', rejections: '最新拒单', noRejections: '没有被风控拒绝的决策。',
  },
  market: {
    watchlist: '自选', add: '添加', addPlaceholder: '代码，如 600519', badCode: '无法识别的代码：{code}', code: '代码', name: '名称', last: '最新', change: '涨跌幅', volume: '成交量', amount: '成交额', noQuote: '暂无行情', empty: '自选为空：在上方输入代码添加。',
    kline: 'K 线', noBars: '{code} 还没有 {freq} K 线数据。', decisions: '决策', fills: '成交', live: '实时', connecting: '连接中', disconnected: '已断开',
  },
  trading: {
    positions: '持仓', noPositions: '没有持仓。', total: '总数', available: '可用', cost: '成本', last: '现价', marketValue: '市值', pnl: '盈亏', pnlPct: '盈亏%',
    orders: '委托', noOrders: '{day} 没有委托。', trades: '成交', noTrades: '{day} 没有成交。', time: '时间', side: '方向', buy: '买入', sell: '卖出', price: '价格', quantity: '数量', filled: '成交量', status: '状态', reason: '说明', amount: '金额', fee: '费用', cancel: '撤单', cancelSent: '撤单已发送：{id}', market: '市价',
    ticket: '手动下单', ticketCode: '代码', submit: '提交（经风控）', busy: '提交中…', accepted: '风控通过', rejected: '被拒绝', rule: '规则', command: '指令', commandStatus: '状态',
    export: '导出', exportPositions: '导出持仓', exportTrades: '导出成交', exportOrders: '导出委托', exporting: '正在从本地节点导出…', exported: '已下载 {name}', format: '格式',
    account: '账户', noTradeRole: '当前角色只能查看，不能下单。', day: '交易日 {day}',
    statuses: { new: '未报', submitted: '已报', partially_filled: '部成', cancel_pending: '待撤', filled: '已成', cancelled: '已撤', rejected: '废单', expired: '过期' } as Record<string, string>,
  },
  decisions: { title: '决策日志', strategy: '策略', verdict: '风控结论', code: '代码', accepted: '通过', rejected: '拒绝', empty: '没有符合条件的决策。', story: '决策详情', pick: '点选一条决策查看全过程。', inputs: '输入', reason: '理由', risk: '风控', values: '数值', command: '指令', outcome: '结果', events: '事件', noCommand: '没有发出指令（被拒绝或未执行）。', noOutcome: '还没有结果。', confidence: '置信度', account: '账户', time: '时间', action: '动作' },
  agent: { strategies: '策略', enabled: '启用', paused: '暂停', params: '参数', source: '来源', reload: '重新加载策略文件', reloaded: '已加载 {n} 个策略', saved: '已保存', noStrategies: '没有可用的策略（或策略接口尚不可用）。', limits: '风控限额', account: '账户', defaultAccount: '默认（所有账户）', limitNames: { max_position_size: '单票最大仓位比例', risk_threshold: '止损阈值', trailing_stop: '移动止损', max_positions: '最多持仓只数', daily_loss_limit: '单日最大亏损', max_orders_per_minute: '每分钟最多委托', duplicate_window: '重复单窗口（秒）' } as Record<string, string>, limitOff: '留空表示关闭' },
  admin: {
    users: '用户', username: '用户名', password: '密码', role: '角色', created: '创建时间', add: '添加用户', removeConfirm: '删除用户 {name}？', noUsers: '没有用户。',
    tokens: '节点令牌', tokenName: '名称', tokenAccount: '账户', create: '创建', created_once: '新令牌（只显示这一次，请立即复制）：', revoke: '吊销', revoked: '已吊销', active: '有效', noTokens: '没有节点令牌。', prefix: '前缀',
    apikeys: 'API 密钥', keyName: '名称', lastUsed: '最近使用', noKeys: '没有 API 密钥。', scope: '权限范围',
    scopes: { read: '只读 (read)', trade: '交易 (trade)', admin: '管理 (admin)' } as Record<string, string>,
    settings: '设置', noSettings: '没有可修改的设置。', settingsSaved: '设置已保存',
    audit: '审计日志', actor: '操作者', action: '操作', target: '对象', detail: '详情', ts: '时间', noAudit: '没有审计记录。',
  },
  errors: { forbidden: '没有权限：{reason}', network: '网络错误', failed: '操作失败：{reason}' },
  notify: { fill: "成交 {side} {code} {qty} 股 {'@'} {price}", rejection: '拒单 {code}：{reason}' },
  empty: '暂无数据',
}

type Messages = typeof zh

const en: Messages = {
  app: { title: 'aigupiao console', loading: 'Loading…', retry: 'Retry', save: 'Save', cancel: 'Cancel', ok: 'OK', close: 'Close', refresh: 'Refresh', remove: 'Remove', yes: 'yes', no: 'no', none: 'none', all: 'All', more: 'Load more', since: 'updated' },
  nav: { overview: 'Overview', market: 'Market', trading: 'Trading', decisions: 'Decisions', agent: 'Agent', replay: 'Live vs backtest', admin: 'Admin', positions: 'Positions', orders: 'Orders', kill: 'Kill switch', notifications: 'Alerts' },
  shell: { lang: '中文', logout: 'Log out', notifications: 'Notifications', noNotifications: 'No fills or rejections yet', role: { viewer: 'viewer', trader: 'trader', admin: 'admin' } },
  login: { title: 'Log in', username: 'Username', password: 'Password', submit: 'Log in', busy: 'Logging in…', hint: 'On first start aigupiao up prints the admin password (also in var/credentials.json).' },
  overview: {
    accounts: 'Accounts', equity: 'Equity', cash: 'Cash', pnlToday: "Today's P&L", pnlEstimated: 'Estimated from positions (previous close / cost); excludes positions closed today', paper: 'paper', noAccounts: 'No accounts yet: they appear once a local node connects.',
    equityCurve: 'Equity curve', noCurve: 'The equity curve needs at least two equity snapshots (valued at the latest quotes every minute while the market is open, and after each fill); there are none yet.',
    state: 'Trading state', halt: 'Halt all', reducing: 'Reduce only', resume: 'Resume', confirmTitle: 'Confirm the trading state change', confirmText: 'Set the trading state of all accounts to {state}?', reason: 'Reason (kept in the audit log)',
    states: { active: 'ACTIVE trading', reducing: 'REDUCING exits only', halted: 'HALTED nothing trades' },
    changedBy: 'set by {actor} at {at}', nodes: 'Local nodes', noNodes: 'No node has registered yet.', online: 'online', degraded: 'late heartbeat', offline: 'offline', lastSeen: 'last heartbeat',
    agent: 'Agent', agentRunning: 'running', agentStopped: 'stopped', agentUnavailable: 'Agent status unavailable: {reason}', interval: 'interval', lastRun: 'last run', duration: 'took', strategies: 'strategies loaded', errors: 'errors',
    fills: 'Latest fills', noFills: 'No fills today.', rejections: 'Latest rejections', noRejections: 'No decision has been refused by the risk gate.',
  },
  market: {
    watchlist: 'Watchlist', add: 'Add', addPlaceholder: 'code, e.g. 600519', badCode: 'Unknown code: {code}', code: 'Code', name: 'Name', last: 'Last', change: 'Change', volume: 'Volume', amount: 'Amount', noQuote: 'no quote', empty: 'The watchlist is empty: add a code above.',
    kline: 'K-line', noBars: 'No {freq} bars for {code} yet.', decisions: 'decisions', fills: 'fills', live: 'live', connecting: 'connecting', disconnected: 'disconnected',
  },
  trading: {
    positions: 'Positions', noPositions: 'No positions.', total: 'Total', available: 'Available', cost: 'Cost', last: 'Last', marketValue: 'Value', pnl: 'P&L', pnlPct: 'P&L %',
    orders: 'Orders', noOrders: 'No orders on {day}.', trades: 'Trades', noTrades: 'No trades on {day}.', time: 'Time', side: 'Side', buy: 'Buy', sell: 'Sell', price: 'Price', quantity: 'Qty', filled: 'Filled', status: 'Status', reason: 'Note', amount: 'Amount', fee: 'Fees', cancel: 'Cancel', cancelSent: 'Cancel sent: {id}', market: 'Market',
    ticket: 'Manual order', ticketCode: 'Code', submit: 'Submit (risk-checked)', busy: 'Submitting…', accepted: 'Accepted by risk gate', rejected: 'Rejected', rule: 'rule', command: 'command', commandStatus: 'status',
    export: 'Export', exportPositions: 'Export positions', exportTrades: 'Export trades', exportOrders: 'Export orders', exporting: 'Exporting from the local node…', exported: 'Downloaded {name}', format: 'Format',
    account: 'Account', noTradeRole: 'Your role can only view, not trade.', day: 'trading day {day}',
    statuses: { new: 'new', submitted: 'submitted', partially_filled: 'partly filled', cancel_pending: 'cancelling', filled: 'filled', cancelled: 'cancelled', rejected: 'rejected', expired: 'expired' },
  },
  decisions: { title: 'Decision log', strategy: 'Strategy', verdict: 'Verdict', code: 'Code', accepted: 'accepted', rejected: 'rejected', empty: 'No decisions match.', story: 'Decision story', pick: 'Pick a decision to see its whole story.', inputs: 'Inputs', reason: 'Reason', risk: 'Risk', values: 'Values', command: 'Command', outcome: 'Outcome', events: 'Events', noCommand: 'No command was sent (rejected or not executed).', noOutcome: 'No outcome yet.', confidence: 'Confidence', account: 'Account', time: 'Time', action: 'Action' },
  agent: { strategies: 'Strategies', enabled: 'Enabled', paused: 'Paused', params: 'Parameters', source: 'Source', reload: 'Reload strategy files', reloaded: 'Loaded {n} strategies', saved: 'Saved', noStrategies: 'No strategies (or the strategy API is not available yet).', limits: 'Risk limits', account: 'Account', defaultAccount: 'Default (all accounts)', limitNames: { max_position_size: 'Max position size (of equity)', risk_threshold: 'Stop-loss threshold', trailing_stop: 'Trailing stop', max_positions: 'Max positions', daily_loss_limit: 'Daily loss limit', max_orders_per_minute: 'Max orders per minute', duplicate_window: 'Duplicate window (s)' }, limitOff: 'empty turns it off' },
  admin: {
    users: 'Users', username: 'Username', password: 'Password', role: 'Role', created: 'Created', add: 'Add user', removeConfirm: 'Remove user {name}?', noUsers: 'No users.',
    tokens: 'Node tokens', tokenName: 'Name', tokenAccount: 'Account', create: 'Create', created_once: 'New token (shown only this once, copy it now):', revoke: 'Revoke', revoked: 'revoked', active: 'active', noTokens: 'No node tokens.', prefix: 'Prefix',
    apikeys: 'API keys', keyName: 'Name', lastUsed: 'Last used', noKeys: 'No API keys.', scope: 'Scope',
    scopes: { read: 'read (viewer)', trade: 'trade (trader)', admin: 'admin' } as Record<string, string>,
    settings: 'Settings', noSettings: 'No settings to change.', settingsSaved: 'Settings saved',
    audit: 'Audit log', actor: 'Actor', action: 'Action', target: 'Target', detail: 'Detail', ts: 'Time', noAudit: 'No audit entries.',
  },
  errors: { forbidden: 'Not allowed: {reason}', network: 'Network error', failed: 'Failed: {reason}' },
  notify: { fill: "Fill {side} {code} {qty} {'@'} {price}", rejection: 'Rejected {code}: {reason}' },
  empty: 'No data',
}

export const messages = { 'zh-CN': zh, en }
