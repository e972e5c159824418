"""Quotes, symbols, bars, nodes, the audit log, settings, and the column types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Bar, Level, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import (
    AuditRepo,
    BarRepo,
    Database,
    NodeRepo,
    QuoteRepo,
    SettingRepo,
    SymbolRepo,
)
from aigupiao.store.models import AuditRow

T0 = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
MOUTAI = parse_symbol("sh600519")


def _quote(last: str, ts: datetime, symbol: str = "sh600519") -> Quote:
    return Quote(
        symbol=parse_symbol(symbol),
        name="贵州茅台",
        ts=ts,
        last=Decimal(last),
        previous_close=Decimal("1480.00"),
        open=Decimal("1481"),
        high=Decimal("1490.5"),
        low=Decimal("1479.99"),
        volume=12_345_600,
        amount=Decimal("18345678901.23"),
        bids=(Level(Decimal("1488.00"), 300), Level(Decimal("1487.99"), 100)),
        asks=(Level(Decimal("1488.01"), 200),),
    )


async def test_quote_upsert_keeps_one_row_with_the_latest_values(db: Database) -> None:
    clock = ManualClock(T0)
    async with db.session() as session:
        repo = QuoteRepo(session, clock=clock)
        await repo.upsert_latest([_quote("1488.01", T0), _quote("10.01", T0, "sz000001")])
        await session.commit()
        clock.advance(3)
        # Twice in one batch: the last one wins.
        await repo.upsert_latest(
            [
                _quote("1489.00", T0 + timedelta(seconds=3)),
                _quote("1489.50", T0 + timedelta(seconds=4)),
            ]
        )
        await session.commit()
        count = await session.scalar(text("SELECT count(*) FROM quotes_latest"))
        row = await repo.get_latest("sh600519")
        assert await repo.get_latest("sh688001") is None
    assert count == 2
    assert row is not None
    assert row["last"] == Decimal("1489.50") and row["ts"] == T0 + timedelta(seconds=4)
    assert row["amount"] == Decimal("18345678901.23") and row["volume"] == 12_345_600
    assert row["bids"] == [["1488.00", 300], ["1487.99", 100]]
    assert row["asks"] == [["1488.01", 200]]
    assert row["received_at"] == T0 + timedelta(seconds=3)


async def test_symbols_upsert_many(db: Database) -> None:
    async with db.session() as session:
        repo = SymbolRepo(session)
        await repo.upsert_many(
            [
                {
                    "code": "sh600519",
                    "exchange": "SH",
                    "board": "sh_main",
                    "name": "贵州茅台",
                    "previous_close": Decimal("1480.00"),
                    "is_st": False,
                },
                {
                    "code": "sz000001",
                    "exchange": "SZ",
                    "board": "sz_main",
                    "name": "平安银行",
                    "previous_close": None,
                },
            ]
        )
        await repo.upsert_many(
            [
                {
                    "code": MOUTAI,
                    "exchange": MOUTAI.exchange,
                    "board": MOUTAI.board,
                    "name": "*ST 茅台",
                    "previous_close": Decimal("1488.01"),
                    "is_st": True,
                },
            ]
        )
        await session.commit()
        rows = await repo.list()
        moutai = await repo.get("sh600519")
        assert await repo.get("sh600000") is None
    assert [r["code"] for r in rows] == ["sh600519", "sz000001"]
    assert moutai is not None
    assert moutai["name"] == "*ST 茅台" and moutai["is_st"] is True
    assert moutai["previous_close"] == Decimal("1488.01")
    assert (moutai["exchange"], moutai["board"]) == ("SH", "sh_main")
    assert rows[1]["previous_close"] is None and rows[1]["is_st"] is False


async def test_bars(db: Database) -> None:
    def bar(minute: int, close: str) -> Bar:
        return Bar(
            symbol=MOUTAI,
            freq="1m",
            end=T0 + timedelta(minutes=minute),
            open=Decimal("1488"),
            high=Decimal("1489"),
            low=Decimal("1487"),
            close=Decimal(close),
            volume=1000,
            amount=Decimal("1488010.00"),
        )

    async with db.session() as session:
        repo = BarRepo(session)
        await repo.upsert_many([bar(1, "1488.01"), bar(2, "1488.02"), bar(3, "1488.03")])
        await repo.upsert_many([bar(3, "1488.99")])
        await session.commit()
        rows = await repo.list("sh600519", "1m")
        assert [(r["end"], r["close"]) for r in rows] == [
            (T0 + timedelta(minutes=1), Decimal("1488.01")),
            (T0 + timedelta(minutes=2), Decimal("1488.02")),
            (T0 + timedelta(minutes=3), Decimal("1488.99")),
        ]
        latest_two = await repo.list("sh600519", "1m", limit=2)
        assert [r["close"] for r in latest_two] == [Decimal("1488.02"), Decimal("1488.99")]
        window = await repo.list(
            "sh600519", "1m", start=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=2)
        )
        assert len(window) == 1
        assert await repo.list("sh600519", "1d") == []


async def test_nodes(db: Database) -> None:
    async with db.session() as session:
        repo = NodeRepo(session)
        await repo.upsert(
            "pc-1",
            account="acct-1",
            broker="paper",
            status="online",
            connection_id="conn-1",
            last_seen=T0,
        )
        node = await repo.get("pc-1")
        assert node is not None and node["last_seq"] == 0 and node["registered_at"] == T0

        t1 = T0 + timedelta(seconds=5)
        await repo.upsert(
            "pc-1",
            account="acct-1",
            broker="paper",
            status="online",
            connection_id="conn-1",
            last_seen=t1,
            last_seq=7,
        )
        await repo.set_status("pc-1", "offline", t1 + timedelta(seconds=1))
        await repo.set_status("ghost", "offline", t1)  # unknown nodes are ignored
        node = await repo.get("pc-1")
        assert node is not None
        assert (node["status"], node["last_seq"], node["registered_at"]) == ("offline", 7, T0)
        assert node["last_seen"] == t1 + timedelta(seconds=1)

        t2 = T0 + timedelta(minutes=1)
        await repo.upsert(
            "pc-1",
            account="acct-1",
            broker="ths",
            status="online",
            connection_id="conn-2",
            last_seen=t2,
        )
        await repo.upsert(
            "pc-0",
            account="acct-0",
            broker="qmt",
            status="online",
            connection_id=None,
            last_seen=t2,
        )
        await session.commit()
        nodes = await repo.list()
        assert await repo.get("ghost") is None
    assert [n["id"] for n in nodes] == ["pc-0", "pc-1"]
    pc1 = nodes[1]
    assert (pc1["broker"], pc1["connection_id"], pc1["last_seq"]) == ("ths", "conn-2", 7)
    assert pc1["registered_at"] == t2  # a new connection is a new registration


async def test_last_seq_never_goes_backwards(db: Database) -> None:
    async with db.session() as session:
        repo = NodeRepo(session)
        for seq in (5, 9, 3):  # 3: a replayed older response
            await repo.upsert("pc-1", account="acct-1", broker="paper", status="online",
                              connection_id="c", last_seen=T0, last_seq=seq)  # fmt: skip
        await session.commit()
        node = await repo.get("pc-1")
    assert node is not None and node["last_seq"] == 9


async def test_audit_and_settings(db: Database) -> None:
    clock = ManualClock(T0)
    async with db.session() as session:
        audit = AuditRepo(session, clock=clock)
        await audit.add("admin", "revoke_api_key", "api_key:ci", {"reason": "leaked"})
        clock.advance(1)
        await audit.add("agent", "halt", "account:paper-1", {"loss": Decimal("-0.001")})
        settings = SettingRepo(session, clock=clock)
        await settings.set("risk", {"max_position_size": Decimal("0.2")})
        await settings.set("risk", {"max_position_size": "0.3"})
        await settings.set("paused", False)
        await session.commit()
        entries = await audit.list()
        raw = (await session.execute(select(AuditRow.__table__))).all()
        assert await settings.get("risk") == {"max_position_size": "0.3"}
        assert await settings.get("paused") is False
        assert await settings.get("missing") is None
    assert len(raw) == 2
    assert [e["action"] for e in entries] == ["halt", "revoke_api_key"]
    assert entries[0]["detail"] == {"loss": "-0.001"}
    assert entries[0]["ts"] == T0 + timedelta(seconds=1)
    assert entries[1]["actor"] == "admin" and entries[1]["target"] == "api_key:ci"


async def test_types_refuse_floats_and_naive_datetimes(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(StatementError, match="float"):
            await SymbolRepo(session).upsert_many(
                [
                    {
                        "code": "sh600519",
                        "exchange": "SH",
                        "board": "sh_main",
                        "name": "x",
                        "previous_close": 1488.01,
                    },
                ]
            )
        await session.rollback()
        with pytest.raises(StatementError, match="naive"):
            await NodeRepo(session).set_status("pc-1", "offline", datetime(2026, 1, 5, 9, 30))
        await session.rollback()


async def test_money_is_exact_at_the_extremes(db: Database) -> None:
    values = [
        Decimal("1488.01"),
        Decimal("0.001"),
        Decimal("0.0001"),
        Decimal("-0.0001"),
        Decimal("9999999999999999.9999"),
        Decimal("123456789012.3456"),
    ]
    async with db.session() as session:
        repo = SymbolRepo(session)
        await repo.upsert_many(
            [
                {
                    "code": f"sh60000{i}",
                    "exchange": "SH",
                    "board": "sh_main",
                    "name": "x",
                    "previous_close": value,
                }
                for i, value in enumerate(values)
            ]
        )
        await session.commit()
        stored = [r["previous_close"] for r in await repo.list()]
    assert stored == values
    assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -4 for v in stored)
