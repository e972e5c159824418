"""The live-versus-backtest comparison on days built by hand: each kind of difference
found with its reason, and a day that went right found equal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.backtest.replay import Reason, ReplayResult, ReplaySettings, replay_facts
from aigupiao.backtest.replay_facts import (
    DayFacts,
    LiveCommand,
    LiveDecision,
    LiveFill,
    Round,
    day_bounds,
)
from aigupiao.backtest.replay_quotes import ListFeed, StoredQuote
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol

DAY = date(2026, 11, 24)  # a Tuesday
SYMBOL = parse_symbol("sz000001")
CASH = Decimal(1_000_000)

# Buys a lot of sz000001 at market while it trades at 20 or less and none is held.
HOLD_ONE = """
from decimal import Decimal

from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal


class HoldOne:
    name = "hold_one"

    def evaluate(self, context):
        quote = context.quotes.get("sz000001")
        held = context.position("sz000001")
        if quote is None or quote.last > Decimal(20) or (held is not None and held.total):
            return []
        return [Signal(symbol=quote.symbol, side=Side.BUY, quantity=100, price=None,
                       reason="测试 (test)")]
"""
ONLY_USER = {"strategies": {"dip_buy": {"enabled": False}, "stop_loss": {"enabled": False}}}


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hh, mm, ss, tzinfo=BEIJING).astimezone(UTC)


def quote(ts: datetime, last: str) -> Quote:
    price = Decimal(last)
    return Quote(
        symbol=SYMBOL, name="平安银行", ts=ts, last=price, previous_close=Decimal("12.00"),
        open=price, high=max(price, Decimal("12.00")), low=min(price, Decimal("10.80")),
        volume=1_000_000, amount=Decimal(12_000_000),
        bids=(Level(price - Decimal("0.01"), 500),), asks=(Level(price, 500),),
    )  # fmt: skip


def stored(number: int, ts: datetime, last: str, received: datetime | None = None) -> StoredQuote:
    return StoredQuote(number, quote(ts, last), received or ts + timedelta(milliseconds=5))


def account(shares: int = 0, price: str = "11.00") -> Account:
    if not shares:
        return Account(id="paper-1", cash=CASH)
    cost = Decimal(price)
    held = Position(SYMBOL, shares, 0, cost, cost)
    return Account(id="paper-1", cash=CASH - cost * shares, positions=(held,))


def traded(ts: datetime, snapshot: Account | None) -> Round:
    return Round(ts, ts + timedelta(milliseconds=1), "interval", {"paper-1": snapshot})


def offline(ts: datetime) -> Round:
    return Round(ts, ts + timedelta(milliseconds=1), "interval", {})


def bought(number: int, ts: datetime, status: str = "done", price: str = "11.00") -> tuple[
    LiveDecision, LiveCommand
]:  # fmt: skip
    """A live buy of 100 at market that the pipeline accepted, and its command."""
    command = LiveCommand(
        id=f"c{number}", status=status, code="sz000001", side="buy", quantity=100, price=None,
        issued_at=ts + timedelta(milliseconds=2), finished_at=ts + timedelta(milliseconds=20),
        result_code=None if status == "done" else "insufficient_funds",
        message="" if status == "done" else "资金不足 (not enough cash)",
        order_status="filled" if status == "done" else None, order_updated_at=ts,
        fills=[LiveFill(ts, Decimal(price), 100, Decimal(price) * 100, Decimal("5.01"))]
        if status == "done" else [],
    )  # fmt: skip
    return _buy(number, ts, accepted=True, rule=None, command_id=command.id), command


def _buy(
    number: int, ts: datetime, *, accepted: bool, rule: str | None, command_id: str | None
) -> LiveDecision:
    return LiveDecision(
        id=f"d{number}", ts=ts, strategy="hold_one", code="sz000001", side="buy",
        quantity=100, price=None, accepted=accepted, rule=rule,
        message=None if accepted else f"refused: {rule}", command_id=command_id,
    )  # fmt: skip


def facts(
    rounds: list[Round],
    quotes: list[StoredQuote],
    decisions: Sequence[LiveDecision] = (),
    commands: Sequence[LiveCommand] = (),
) -> DayFacts:
    start, end = day_bounds(DAY)
    return DayFacts(
        account="paper-1", day=DAY, start=start, end=end, rounds=rounds,
        quotes=ListFeed(quotes), quote_source="raw", symbols=[], daily_bars=[],
        strategy_settings=ONLY_USER, risk_limits=None, state_changes=[], decisions=list(decisions),
        commands={c.id: c for c in commands}, morning=Account(id="paper-1", cash=CASH),
    )  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> ReplaySettings:
    (tmp_path / "hold_one.py").write_text(HOLD_ONE, encoding="utf-8")
    return ReplaySettings(strategy_paths=(tmp_path,))


async def replay(day: DayFacts, settings: ReplaySettings) -> ReplayResult:
    return await replay_facts(day, settings)


async def test_a_day_that_went_right_has_no_differences(settings: ReplaySettings) -> None:
    r1, r2, r3 = at(10, 0), at(10, 0, 15), at(10, 0, 30)
    decision, command = bought(1, r1)
    day = facts(
        [traded(r1, account()), traded(r2, account(100)), traded(r3, account(100))],
        [stored(1, r1 - timedelta(seconds=5), "11.00"),
         stored(2, r2 - timedelta(seconds=5), "10.90")],
        [decision], [command],
    )  # fmt: skip
    result = await replay(day, settings)
    assert result.differences == [] and result.offline == []
    assert (result.moments, result.live_decisions, result.replay_decisions) == (3, 1, 1)
    assert result.matched == 1 and result.quote_source == "raw"


async def test_a_round_without_the_node_is_a_difference_put_down_to_the_node(
    settings: ReplaySettings,
) -> None:
    r1, r2, r3 = at(10, 0), at(10, 0, 15), at(10, 0, 30)
    decision, command = bought(3, r3)
    day = facts(
        [traded(r1, account()), offline(r2), traded(r3, account())],
        [stored(1, r1 - timedelta(seconds=5), "25.00"),
         stored(2, r2 - timedelta(seconds=5), "11.00")],
        [decision], [command],
    )  # fmt: skip
    result = await replay(day, settings)
    assert result.offline == [(r2, r3)]
    first, second = result.differences
    assert (first.ts, first.kind, first.reason) == (r2, "replay_only", Reason.NODE_OFFLINE)
    assert first.replay is not None and first.replay.accepted and first.live is None
    assert "节点离线" in first.reason_zh and "10:00:15" in first.reason_zh
    # live bought once the node was back; the replay already held the lot
    assert (second.ts, second.kind, second.reason) == (r3, "live_only", Reason.FOLLOWS)
    assert second.root is Reason.NODE_OFFLINE and "10:00:15" in second.reason_en


async def test_a_decision_refused_for_want_of_a_node(settings: ReplaySettings) -> None:
    r1 = at(10, 0)
    refused = _buy(1, r1, accepted=False, rule="node_offline", command_id=None)
    day = facts([traded(r1, account())], [stored(1, r1 - timedelta(seconds=5), "11.00")], [refused])
    (difference,) = (await replay(day, settings)).differences
    assert difference.kind == "changed" and difference.fields == ("accepted", "rule")
    assert difference.reason is Reason.NODE_OFFLINE
    assert difference.live is not None and difference.live.rule == "node_offline"
    assert difference.replay is not None and difference.replay.accepted


async def test_an_order_the_broker_refused_fills_in_the_replay(settings: ReplaySettings) -> None:
    r1, r2 = at(10, 0), at(10, 0, 15)
    first, refused = bought(1, r1, status="rejected")
    again, command = bought(2, r2)
    day = facts(
        [traded(r1, account()), traded(r2, account())],
        [stored(1, r1 - timedelta(seconds=5), "11.00")],
        [first, again], [refused, command],
    )  # fmt: skip
    result = await replay(day, settings)
    (difference,) = result.differences
    assert result.matched == 1
    assert (difference.ts, difference.kind) == (r2, "live_only")
    assert difference.reason is Reason.BROKER_REFUSED
    assert "资金不足" in difference.reason_zh and "refused" in difference.reason_en


async def test_a_quote_that_came_late_is_named(settings: ReplaySettings) -> None:
    r1 = at(10, 0)
    late = stored(2, r1 - timedelta(seconds=5), "11.00", received=r1 + timedelta(seconds=3))
    day = facts([traded(r1, account())], [stored(1, r1 - timedelta(seconds=20), "25.00"), late])
    (difference,) = (await replay(day, settings)).differences
    assert difference.kind == "replay_only" and difference.reason is Reason.LATE_QUOTE
    assert "09:59:55" in difference.reason_zh and "3.0 s" in difference.reason_en


async def test_a_slightly_late_quote_is_seen_as_live_saw_it(settings: ReplaySettings) -> None:
    """Within ``late_after`` a quote counts when it arrived (the feed's own delay)."""
    r1 = at(10, 0)
    just_late = stored(2, r1 - timedelta(seconds=1), "11.00", received=r1 + timedelta(seconds=1))
    day = facts(
        [traded(r1, account())], [stored(1, r1 - timedelta(seconds=20), "25.00"), just_late]
    )
    assert (await replay(day, settings)).differences == []


async def test_another_verdict_of_the_gate(settings: ReplaySettings) -> None:
    r1 = at(10, 0)
    refused = _buy(1, r1, accepted=False, rule="cash", command_id=None)
    day = facts([traded(r1, account())], [stored(1, r1 - timedelta(seconds=5), "11.00")], [refused])
    (difference,) = (await replay(day, settings)).differences
    assert difference.reason is Reason.GATE
    assert "cash" in difference.reason_zh and "accepted" in difference.reason_en


async def test_the_json_keeps_prices_as_strings(settings: ReplaySettings) -> None:
    r1 = at(10, 0)
    refused = LiveDecision(
        id="d1", ts=r1, strategy="hold_one", code="sz000001", side="buy", quantity=100,
        price=Decimal("10.95"), accepted=False, rule="cash", message="x", command_id=None,
    )  # fmt: skip
    day = facts([traded(r1, account())], [stored(1, r1 - timedelta(seconds=5), "11.00")], [refused])
    data = (await replay(day, settings)).as_json()
    (difference,) = data["differences"]
    assert difference["live"]["price"] == "10.95" and difference["replay"]["price"] is None
    assert difference["fields"] == ["price", "accepted", "rule"]
    assert data["date"] == "2026-11-24" and data["account"] == "paper-1"


async def test_a_halt_during_the_day_is_obeyed_when_it_was_made(settings: ReplaySettings) -> None:
    r1, r2 = at(10, 0), at(10, 0, 15)
    change = {"from": "active", "to": "halted", "reason": "停一下", "source": "api"}
    halted = {"id": 1, "ts": r1 + timedelta(seconds=5), "actor": "user:admin",
              "action": "risk.state", "target": "global", "detail": change}  # fmt: skip
    refused = _buy(1, r2, accepted=False, rule="trading_state", command_id=None)
    day = facts(
        [traded(r1, account()), traded(r2, account())],
        [stored(1, r1 - timedelta(seconds=5), "25.00"),
         stored(2, r2 - timedelta(seconds=5), "11.00")],
        [refused],
    )  # fmt: skip
    day.state_changes = [halted]
    result = await replay(day, settings)
    assert result.differences == [] and result.matched == 1


async def test_a_restart_of_the_cloud_starts_the_replay_again(settings: ReplaySettings) -> None:
    """A new process has no order history (the same order 5 s later is no duplicate) and
    knows only the quotes that came after it started."""
    r1, r2 = at(10, 0), at(10, 0, 5)
    first, done = bought(1, r1)
    second, again = bought(2, r2)
    day = facts(
        [replace(traded(r1, account()), run="a"), replace(traded(r2, account()), run="b")],
        [stored(1, r1 - timedelta(seconds=5), "11.00"),
         stored(2, r1 + timedelta(seconds=2), "11.00")],  # the new process's first quote
        [first, second], [done, again],
    )  # fmt: skip
    result = await replay(day, settings)
    assert result.differences == [] and result.matched == 2
    assert any("started again at 10:00:05" in warning for warning in result.warnings)
    # the same day as one process: the second is a duplicate
    day = facts(
        [traded(r1, account()), traded(r2, account())],
        [stored(1, r1 - timedelta(seconds=5), "11.00")],
        [first, second], [done, again],
    )  # fmt: skip
    (difference,) = (await replay(day, settings)).differences
    assert difference.replay is not None and difference.replay.rule == "duplicate"


# Buys once it has a completed daily bar of sz000001 (yesterday's, closed from its quotes).
YESTERDAY = """
from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal


class Yesterday:
    name = "yesterday"

    def evaluate(self, context):
        slot = context.market.slot("sz000001")
        if slot is None or not len(context.market.recent_bars(slot, 1)["close"]):
            return []
        quote = context.quotes["sz000001"]
        return [Signal(symbol=quote.symbol, side=Side.BUY, quantity=100, price=None,
                       reason="昨日K线 (yesterday's bar)")]
"""


async def test_the_days_a_run_went_through_close_from_their_last_quotes(tmp_path: Path) -> None:
    (tmp_path / "yesterday.py").write_text(YESTERDAY, encoding="utf-8")
    settings = ReplaySettings(strategy_paths=(tmp_path,))
    r1 = at(10, 0)
    monday = datetime(2026, 11, 23, 14, 59, tzinfo=BEIJING).astimezone(UTC)
    day = facts([traded(r1, account())], [stored(1, r1 - timedelta(seconds=5), "11.00")])
    assert (await replay(day, settings)).differences == []  # no history: nothing to do
    day = facts([traded(r1, account())], [stored(2, r1 - timedelta(seconds=5), "11.00")])
    day.earlier_closes = [[stored(1, monday, "12.00")]]
    (difference,) = (await replay(day, settings)).differences
    assert difference.kind == "replay_only" and difference.strategy == "yesterday"


async def test_a_fill_at_another_price_is_the_nearest_cause(settings: ReplaySettings) -> None:
    """Offline at 10:00:15 the replay bought at 11.00; live bought once the node was back,
    at 11.05: what differs on that code next is put down to the fill price."""
    r1, r2, r3, r4 = at(10, 0), at(10, 0, 15), at(10, 0, 30), at(10, 0, 45)
    late_buy, command = bought(3, r3, price="11.05")
    refused = _buy(4, r4, accepted=False, rule="max_positions", command_id=None)
    day = facts(
        [traded(r1, account()), offline(r2), traded(r3, account()),
         traded(r4, account(100, "11.05"))],
        [stored(1, r1 - timedelta(seconds=5), "25.00"),
         stored(2, r2 - timedelta(seconds=5), "11.00")],
        [late_buy, refused], [command],
    )  # fmt: skip
    offline_buy, followed, priced = (await replay(day, settings)).differences
    assert offline_buy.reason is Reason.NODE_OFFLINE and followed.reason is Reason.FOLLOWS
    assert (priced.ts, priced.kind, priced.reason) == (r4, "live_only", Reason.FILL_PRICE)
    assert "11.05" in priced.reason_zh and "11.00" in priced.reason_en
    assert priced.root is Reason.NODE_OFFLINE
