"""The replay reading a real database (SQLite and PostgreSQL): a day stored before rounds
were recorded, with only 1-minute bars, replayed from the morning's positions and cash;
and the refusals (unknown account, not a trading day, nothing stored)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.backtest.replay import Reason, ReplayInputError, ReplaySettings, replay_day
from aigupiao.backtest.replay_facts import day_bounds, load_day
from aigupiao.backtest.replay_quotes import RawFeed
from aigupiao.domain.decisions import Decision, Verdict
from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import (
    AccountRepo,
    BarRepo,
    Database,
    DecisionRepo,
    PositionRepo,
    SettingRepo,
)
from aigupiao.store.repositories.market import RawQuoteRepo
from aigupiao.store.repositories.rounds import AgentRoundRepo
from aigupiao.store.repositories.trading import AccountSnapshotRepo

DAY = date(2026, 11, 24)
SYMBOL = parse_symbol("sz000001")

# Buys a lot of sz000001 at market the first time it trades at 20 or less.
ONCE = """
from decimal import Decimal

from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal


class Once:
    name = "once"

    def __init__(self):
        self.done = False

    def evaluate(self, context):
        quote = context.quotes.get("sz000001")
        if self.done or quote is None or quote.last > Decimal(20):
            return []
        self.done = True
        return [Signal(symbol=quote.symbol, side=Side.BUY, quantity=100, price=None,
                       reason="测试 (test)")]
"""


def at(hh: int, mm: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hh, mm, tzinfo=BEIJING).astimezone(UTC)


def bar(end: datetime, close: str) -> Bar:
    price = Decimal(close)
    return Bar(symbol=SYMBOL, freq="1m", end=end, open=price, high=price, low=price, close=price,
               volume=10_000, amount=price * 10_000)  # fmt: skip


def decision(number: int, ts: datetime) -> Decision:
    return Decision(
        id=f"d{number}", strategy="once", account="paper-1", symbol=SYMBOL, side=Side.BUY,
        quantity=100, price=None, reason="测试 (test)", inputs={}, ts=ts,
        verdict=Verdict.ACCEPTED,
    )  # fmt: skip


async def _store_day(db: Database) -> None:
    async with db.session() as session:
        await AccountRepo(session).upsert(
            "paper-1", node_id="local-1", paper=True, cash=Decimal(900_000),
            frozen_cash=Decimal(0), equity=Decimal(905_000),
        )  # fmt: skip
        await PositionRepo(session).replace(
            "paper-1",
            [{"symbol": "sh600000", "total": 500, "available": 500,
              "cost_price": Decimal(10), "last_price": Decimal(10)}],
        )  # fmt: skip
        await AccountSnapshotRepo(session).add(
            "paper-1", at(9, 0),
            {"equity": Decimal(905_000), "cash": Decimal(900_000), "frozen_cash": Decimal(0),
             "market_value": Decimal(5_000)},
        )  # fmt: skip
        await BarRepo(session).upsert_many(
            [bar(at(10, 1), "25.00"), bar(at(10, 2), "11.00"), bar(at(10, 3), "11.10")]
        )
        await SettingRepo(session).set(  # the built-ins off: only the user strategy runs
            "agent.strategies.paper-1",
            {"strategies": {"dip_buy": {"enabled": False}, "stop_loss": {"enabled": False}}},
        )
        repo = DecisionRepo(session)
        await repo.add(decision(1, at(10, 1)))  # the replay does not buy at 25
        await repo.add(decision(2, at(10, 2)))  # ... and does at 11
        await session.commit()


async def test_a_day_of_bars_without_rounds(db: Database, tmp_path: Path) -> None:
    await _store_day(db)
    (tmp_path / "once.py").write_text(ONCE, encoding="utf-8")
    result = await replay_day(db, "paper-1", DAY, ReplaySettings(strategy_paths=(tmp_path,)))
    assert (result.quote_source, result.moments_source) == ("bars", "decisions_and_bars")
    assert result.moments == 3 and result.live_decisions == 2, result.as_json()
    assert result.matched == 1
    assert any("没有记录代理轮次" in w and "no agent rounds" in w for w in result.warnings)
    (difference,) = result.differences
    assert difference.ts == at(10, 1) and difference.kind == "live_only"
    assert difference.reason is Reason.COARSE_QUOTES
    assert "1 分钟K线" in difference.reason_zh and "1-minute bars" in difference.reason_en


@pytest.mark.parametrize(
    ("account", "day", "code"),
    [
        ("nobody", DAY, "unknown_account"),
        ("paper-1", date(2026, 11, 22), "not_trading_day"),
        ("paper-1", date(2026, 11, 23), "no_data"),
    ],
)
async def test_what_cannot_be_replayed_says_why(
    db: Database, account: str, day: date, code: str
) -> None:
    await _store_day(db)
    with pytest.raises(ReplayInputError) as caught:
        await replay_day(db, account, day)
    assert caught.value.code == code
    assert caught.value.message_zh and caught.value.message_en


async def test_raw_snapshots_come_in_pages_in_the_order_they_arrived(db: Database) -> None:
    """Pages of two rows; the wall clock is not the market's (a simulated day)."""
    wall = datetime(2030, 1, 1, tzinfo=UTC)

    def snapshot(ts: datetime, last: str) -> Quote:
        price = Decimal(last)
        return Quote(symbol=SYMBOL, name="", ts=ts, last=price, previous_close=price,
                     open=price, high=price, low=price, volume=100, amount=price * 100)  # fmt: skip

    at_ten = at(10, 0)
    arrivals = [
        (snapshot(at_ten, "11.00"), wall),
        (snapshot(at_ten + timedelta(seconds=1), "11.01"), wall + timedelta(seconds=1)),
        (snapshot(at_ten - timedelta(seconds=10), "10.90"), wall + timedelta(seconds=30)),  # late
        (snapshot(at_ten + timedelta(seconds=5), "11.05"), wall + timedelta(seconds=5)),
    ]
    async with db.session() as session:
        await RawQuoteRepo(session).add_many([("feed", q, received) for q, received in arrivals])
        await session.commit()
    start, end = day_bounds(DAY)
    feed = RawFeed(db, start, end, {}, by_arrival=True, chunk=2)
    batch, late = await feed.take(at_ten + timedelta(seconds=3), wall + timedelta(seconds=2))
    assert [s.quote.last for s in batch] == [Decimal("11.00"), Decimal("11.01"), Decimal("10.90")]
    assert list(late) == ["sz000001"] and late["sz000001"].quote.last == Decimal("10.90")
    batch, late = await feed.take(at_ten + timedelta(seconds=9), wall + timedelta(seconds=40))
    assert [s.quote.last for s in batch] == [Decimal("11.05")] and late == {}
    assert await feed.take(at_ten + timedelta(minutes=1), wall + timedelta(minutes=1)) == ([], {})


async def test_a_run_that_began_days_ago_brings_the_last_quotes_of_those_days(
    db: Database,
) -> None:
    """The agent's market state closed the days its process went through from their last
    quotes: the replay is given them, the last received of each symbol each day."""
    await _store_day(db)
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING).astimezone(UTC)
    wall = datetime(2030, 1, 1, tzinfo=UTC)

    def snapshot(ts: datetime, last: str) -> Quote:
        price = Decimal(last)
        return Quote(symbol=SYMBOL, name="", ts=ts, last=price, previous_close=price,
                     open=price, high=price, low=price, volume=100, amount=price * 100)  # fmt: skip

    async with db.session() as session:
        await RawQuoteRepo(session).add_many([
            ("feed", snapshot(monday, "9.00"), wall),
            ("feed", snapshot(monday + timedelta(minutes=1), "9.10"), wall + timedelta(seconds=1)),
            ("feed", snapshot(at(10, 0), "11.00"), wall + timedelta(days=1)),
        ])  # fmt: skip
        await AgentRoundRepo(session).add_many([
            {"ts": monday, "wall_at": wall, "run": "r1", "trigger": "interval", "accounts": {}},
            {"ts": at(10, 0), "wall_at": wall + timedelta(days=1, seconds=1), "run": "r1",
             "trigger": "interval", "accounts": {"paper-1": None}},
        ])  # fmt: skip
        await session.commit()
    facts = await load_day(db, "paper-1", DAY)
    (closes,) = facts.earlier_closes
    assert [(s.quote.symbol.full, s.quote.last) for s in closes] == [("sz000001", Decimal("9.10"))]
    assert [r.run for r in facts.rounds] == ["r1"]
