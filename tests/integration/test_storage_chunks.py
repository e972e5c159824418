"""The storage tasks write a full market in chunks, and a failed chunk loses nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from aigupiao.cloud.services import bars as bars_service
from aigupiao.cloud.services.bars import BarRecorder
from aigupiao.cloud.services.ledger import Stats
from aigupiao.cloud.services.market import STORE_CHUNK, MarketService
from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Bar, Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import BarRepo, Database
from aigupiao.store.models import BarRow, QuoteRow

DAY = datetime(2026, 3, 2, tzinfo=BEIJING).date()  # a Monday
NOW = datetime.combine(DAY, time(10, 0, 3), BEIJING)
COUNT = STORE_CHUNK * 2 + 345


def codes(count: int) -> list[str]:
    """Main-board codes: sh600000-sh601999, then sz000000 on."""
    return [f"sh60{n:04d}" if n < 2000 else f"sz00{n - 2000:04d}" for n in range(count)]


def quote(code: str, volume: int) -> Quote:
    return Quote(
        symbol=parse_symbol(code),
        name="测试",
        ts=NOW,
        last=Decimal("10.01"),
        previous_close=Decimal("10.00"),
        open=Decimal("10.00"),
        high=Decimal("10.05"),
        low=Decimal("9.98"),
        volume=volume,
        amount=Decimal("1001.00") * volume // 100,
        bids=(Level(Decimal("10.00"), 500),),
        asks=(Level(Decimal("10.01"), 300),),
    )


def bar(code: str, minute: int) -> Bar:
    end = datetime.combine(DAY, time(9, 31), BEIJING) + timedelta(minutes=minute)
    price = Decimal("10.00")
    return Bar(parse_symbol(code), "1m", end, price, price, price, price, 100, Decimal(1000))


async def count(db: Database, model: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_full_market_of_latest_quotes_is_written_in_chunks(db: Database) -> None:
    market = MarketService(db, Stats(), 60.0, clock=ManualClock(NOW))
    market.publish([quote(code, 1000) for code in codes(COUNT)], source="test")
    await market.flush()
    assert await count(db, QuoteRow) == COUNT
    market.publish([quote(code, 2000) for code in codes(COUNT)], source="test")
    await market.flush()
    async with db.session() as session:
        volumes = set((await session.execute(select(QuoteRow.volume))).scalars())
    assert volumes == {2000}


async def test_a_failed_chunk_keeps_the_unwritten_bars_in_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = BarRecorder(db, ManualClock(NOW), interval=60.0)
    batch = [bar(code, 0) for code in codes(COUNT)]
    recorder._keep(batch)
    real = BarRepo.upsert_many
    calls = 0

    async def second_chunk_fails(self: BarRepo, bars: list[Bar]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        await real(self, bars)

    monkeypatch.setattr(bars_service.BarRepo, "upsert_many", second_chunk_fails)
    written = await recorder.flush()
    assert written == STORE_CHUNK
    assert recorder.errors == 1 and "disk full" in (recorder.last_error or "")
    assert recorder.pending == COUNT - STORE_CHUNK
    assert await count(db, BarRow) == STORE_CHUNK
    monkeypatch.setattr(bars_service.BarRepo, "upsert_many", real)
    assert await recorder.flush() == COUNT - STORE_CHUNK  # the rest, none twice
    assert await count(db, BarRow) == COUNT
    assert recorder.stored == COUNT and recorder.pending == 0
