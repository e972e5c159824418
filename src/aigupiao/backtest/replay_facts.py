"""What the live-versus-backtest replay reads of one account's day, as typed facts.

:func:`load_day` reads, for an account and a trading day (Beijing), the agent's recorded
rounds, the stored quotes (raw snapshots where ``market.keep_raw`` was on, else 1-minute
bars), the daily bars and symbols the agent loads at start, the account's stored
strategy settings and risk limits, the trading-state changes of the audit log, and its
decisions with the commands, orders and fills behind them. Nothing here decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from aigupiao.domain.account import Account, Position
from aigupiao.domain.errors import DomainError
from aigupiao.domain.sessions import BEIJING, is_trading_day
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol.codec import account_from_dict
from aigupiao.store import Database, SettingRepo, SymbolRepo
from aigupiao.store.repositories.rounds import AgentRoundRepo, ReplayRepo
from aigupiao.store.repositories.trading import AccountSnapshotRepo, PositionRepo

from .replay_quotes import BarFeed, QuoteFeed, RawFeed, StoredQuote, raw_quote

HISTORY_DAYS = 220  # as the agent: calendar days of daily bars loaded before the day
SAME = "same"  # a round's account snapshot: unchanged since the account's previous round
# Keys the live cloud keeps its settings under (cloud/services/strategies.py and risk.py).
STRATEGIES_KEY = "agent.strategies."
LIMITS_KEY = "risk.limits"
DAY_START_KEY = "risk.day_start"
STATE_ACTION = "risk.state"
STRATEGY_ACTION = "agent.strategy"


class ReplayInputError(DomainError):
    """An account or a day the replay cannot work on; the message says why."""

    code = "replay_input"


@dataclass(frozen=True, slots=True)
class Round:
    """One evaluation of the live agent: market time, wall time, and per account traded
    the snapshot it used (accounts absent were not traded: no node connected)."""

    ts: datetime
    wall_at: datetime | None  # None: a moment the replay chose (no rounds were recorded)
    trigger: str
    accounts: Mapping[str, Account | None]
    recorded: bool = True
    run: str = ""  # the agent's process: a new one starts from the stored state


@dataclass(frozen=True, slots=True)
class LiveFill:
    ts: datetime
    price: Decimal
    quantity: int
    amount: Decimal
    fees: Decimal


@dataclass(slots=True)
class LiveCommand:
    """A live trade command with what became of it."""

    id: str
    status: str
    code: str
    side: str
    quantity: int
    price: Decimal | None
    issued_at: datetime
    finished_at: datetime | None
    result_code: str | None
    message: str
    order_status: str | None = None
    order_updated_at: datetime | None = None
    fills: list[LiveFill] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LiveDecision:
    id: str
    ts: datetime
    strategy: str
    code: str
    side: str
    quantity: int
    price: Decimal | None
    accepted: bool
    rule: str | None
    message: str | None
    command_id: str | None


@dataclass(slots=True)
class DayFacts:
    account: str
    day: date
    start: datetime
    end: datetime
    rounds: list[Round]
    quotes: QuoteFeed  # the day's stored quotes, handed out round by round
    quote_source: str  # "raw" or "bars"
    symbols: list[dict[str, Any]]
    daily_bars: list[dict[str, Any]]
    strategy_settings: Any
    risk_limits: Any
    state_changes: list[dict[str, Any]]  # audit entries of risk.state, oldest first
    decisions: list[LiveDecision]
    commands: dict[str, LiveCommand]
    morning: Account | None  # before any snapshot (and for days without recorded rounds)
    minute_ends: list[datetime] = field(default_factory=list)  # moments without rounds
    day_starts: Any = None  # the stored equity each account began its latest day with
    # The last quote of each symbol on each earlier day the agent's run (that of the day's
    # first round) went through: its market state closed those days from them.
    earlier_closes: list[list[StoredQuote]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), BEIJING)
    return start, start + timedelta(days=1)


async def load_day(db: Database, account: str, day: date) -> DayFacts:
    """Everything stored about ``account`` on ``day``.

    Raises:
        ReplayInputError: not a trading day, an account never seen, or nothing stored.
    """
    if not is_trading_day(day):
        raise ReplayInputError(
            f"{day} 不是交易日，无可回放的数据",
            f"{day} is not a trading day: nothing to replay",
            code="not_trading_day",
        )
    start, end = day_bounds(day)
    async with db.session() as session:
        repo = ReplayRepo(session)
        if not await repo.known_account(account):
            raise ReplayInputError(
                f"未知账户 {account}：数据库中没有它的节点、资金或决策",
                f"unknown account {account}: no node, funds or decisions of it are stored",
                code="unknown_account",
            )
        round_rows = await AgentRoundRepo(session).between(start, end)
        decision_rows = await repo.decisions(account, start, end)
        raw = await repo.has_raw(start, end)
        minute_ends = [] if raw else await repo.bar_ends(start, end)
        if not round_rows and not decision_rows and not raw and not minute_ends:
            raise ReplayInputError(
                f"{day} 没有存储的行情、代理轮次或决策，无法回放",
                f"nothing stored for {day} (no quotes, agent rounds or decisions): "
                "nothing to replay",
                code="no_data",
            )
        if not raw and not minute_ends:
            raise ReplayInputError(
                f"{day} 没有存储的行情（1 分钟K线或原始快照），无法回放",
                f"no quotes stored for {day} (1-minute bars or raw snapshots): nothing to replay",
                code="no_data",
            )
        symbols = await SymbolRepo(session).list()
        daily = await repo.daily_bars(start - timedelta(days=HISTORY_DAYS), start)
        settings = SettingRepo(session)
        strategy_settings = await settings.get(STRATEGIES_KEY + account)
        risk_limits = await settings.get(LIMITS_KEY)
        day_starts = await settings.get(DAY_START_KEY)
        audit = await repo.audit([STATE_ACTION, STRATEGY_ACTION], end + timedelta(days=400))
        command_ids = [row["command_id"] for row in decision_rows if row["command_id"]]
        command_rows = await repo.commands(command_ids)
        orders = await repo.orders(account, command_ids)
        trades = await repo.trades(account, [row["id"] for row in orders])
        morning = await _morning(session, account, start)
        began = None
        if round_rows:
            began = await AgentRoundRepo(session).run_began(round_rows[0]["run"])
        earlier = await _earlier_closes(repo, began, start) if began is not None else []
    names = {row["code"]: row["name"] for row in symbols}
    warnings: list[str] = []
    feed: QuoteFeed
    if raw:
        feed = RawFeed(db, start, end, names, by_arrival=bool(round_rows))
        minute_ends = _session_minutes(start)
    else:
        closes = {row["symbol"]: row["close"] for row in daily}  # oldest first: the last wins
        feed = BarFeed(db, start, end, names, closes)
    facts = DayFacts(
        account=account,
        day=day,
        start=start,
        end=end,
        rounds=_rounds(round_rows, warnings),
        quotes=feed,
        quote_source=feed.source,
        symbols=symbols,
        daily_bars=daily,
        strategy_settings=strategy_settings,
        risk_limits=risk_limits,
        state_changes=[e for e in audit if e["action"] == STATE_ACTION],
        decisions=[_decision(row) for row in decision_rows],
        commands=_commands(command_rows, orders, trades),
        morning=morning,
        minute_ends=minute_ends,
        day_starts=day_starts,
        earlier_closes=[[raw_quote(row, names) for row in rows] for rows in earlier],
        warnings=warnings,
    )
    changed = [
        e for e in audit
        if e["action"] == STRATEGY_ACTION and e["ts"] >= start
        and str(e["target"]).startswith(f"account:{account}/")
    ]  # fmt: skip
    if changed:
        facts.warnings.append(
            f"该账户的策略设置在 {changed[0]['ts']:%Y-%m-%d %H:%M} 之后被修改过；回放使用当前设置 "
            "(the account's strategy settings changed since that day; the replay uses the "
            "current ones)"
        )
    return facts


def _rounds(rows: list[dict[str, Any]], warnings: list[str]) -> list[Round]:
    """The rounds with each account's snapshot resolved (``"same"``: the previous one). A
    snapshot that cannot be read, or a ``"same"`` whose row was lost, is no snapshot."""
    rounds: list[Round] = []
    last: dict[str, Account | None] = {}
    unreadable = 0
    for row in rows:
        accounts: dict[str, Account | None] = {}
        for account_id, value in (row["accounts"] or {}).items():
            snapshot: Account | None = None
            if value == SAME:
                snapshot = last.get(account_id)
            elif value is not None:
                try:
                    snapshot = account_from_dict(value)
                except ValidationError:
                    unreadable += 1
            accounts[account_id] = last[account_id] = snapshot
        rounds.append(Round(row["ts"], row["wall_at"], row["trigger"], accounts, run=row["run"]))
    if unreadable:
        warnings.append(
            f"{unreadable} 个轮次的账户快照无法读取，按无快照回放 "
            f"({unreadable} rounds' account snapshots could not be read: replayed without)"
        )
    return rounds


async def _earlier_closes(
    repo: ReplayRepo, began: datetime, start: datetime
) -> list[list[dict[str, Any]]]:
    """The last raw snapshot of each symbol on each trading day from ``began`` to before
    ``start`` (none where raw snapshots were not kept)."""
    days: list[list[dict[str, Any]]] = []
    day = began.astimezone(BEIJING).date()
    while day < start.date():
        if is_trading_day(day):
            first, last = day_bounds(day)
            days.append(await repo.last_raw(first, last))
        day += timedelta(days=1)
    return [rows for rows in days if rows]


def _session_minutes(start: datetime) -> list[datetime]:
    """The day's 240 minute ends (09:31-11:30, 13:01-15:00, Beijing)."""
    ends = []
    for first, count in ((time(9, 31), 120), (time(13, 1), 120)):
        moment = datetime.combine(start.date(), first, BEIJING)
        ends += [moment + timedelta(minutes=i) for i in range(count)]
    return ends


def _decision(row: dict[str, Any]) -> LiveDecision:
    return LiveDecision(
        id=row["id"], ts=row["ts"], strategy=row["strategy"], code=row["symbol"],
        side=row["side"], quantity=int(row["quantity"]), price=row["price"],
        accepted=row["verdict"] == "accepted", rule=row["rule"],
        message=row["risk_message"], command_id=row["command_id"],
    )  # fmt: skip


def _commands(
    rows: list[dict[str, Any]], orders: list[dict[str, Any]], trades: list[dict[str, Any]]
) -> dict[str, LiveCommand]:
    by_order: dict[str, list[dict[str, Any]]] = {}
    for trade in trades:
        by_order.setdefault(trade["order_id"], []).append(trade)
    order_of = {row["command_id"]: row for row in orders}
    commands: dict[str, LiveCommand] = {}
    for row in rows:
        data = row["data"] or {}
        result = row["result"] or {}
        price = data.get("price")
        command = LiveCommand(
            id=row["id"],
            status=row["status"],
            code=str(data.get("stock_code", "")),
            side=str(data.get("action", "")),
            quantity=int(data.get("quantity") or 0),
            price=None if price is None else Decimal(str(price)),
            issued_at=row["issued_at"],
            finished_at=row["finished_at"],
            result_code=result.get("code") if isinstance(result, dict) else None,
            message=str(result.get("message", "")) if isinstance(result, dict) else "",
        )
        order = order_of.get(row["id"])
        if order is not None:
            command.order_status = order["status"]
            command.order_updated_at = order["updated_at"]
            for trade in by_order.get(order["id"], []):
                fees = trade["commission"] + trade["stamp_duty"] + trade["transfer_fee"]
                command.fills.append(
                    LiveFill(
                        trade["ts"], trade["price"], int(trade["quantity"]), trade["amount"], fees
                    )
                )
        commands[row["id"]] = command
    return commands


async def _morning(session: Any, account: str, start: datetime) -> Account | None:
    """The account at the day's start, for days without recorded rounds: the stored
    positions less every fill since (all available: T+1), and the cash of the last equity
    row before 09:15 (else the day's first)."""
    positions = {p["symbol"]: p for p in await PositionRepo(session).list(account)}
    snapshots = AccountSnapshotRepo(session)
    row = await snapshots.last_before(account, start + timedelta(hours=9, minutes=15))
    if row is None:
        row = await snapshots.first_since(account, start)
    if row is None and not positions:
        return None
    totals = {code: int(p["total"]) for code, p in positions.items()}
    for trade in await ReplayRepo(session).trades_since(account, start):
        sign = 1 if trade["side"] == "buy" else -1
        totals[trade["symbol"]] = totals.get(trade["symbol"], 0) - sign * int(trade["quantity"])
    held = []
    for code, total in sorted(totals.items()):
        if total <= 0:
            continue
        stored = positions.get(code)
        cost = stored["cost_price"] if stored is not None else Decimal(0)
        last = stored["last_price"] if stored is not None else None
        held.append(Position(parse_symbol(code), total, total, cost, last))
    cash = row["cash"] if row is not None else Decimal(0)
    return Account(id=account, cash=cash, positions=tuple(held))
