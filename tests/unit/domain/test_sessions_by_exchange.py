"""Sessions by exchange and date (issue 13, item 4): SSE had no closing call auction
before 2018-08-20, SZSE since 2006-07-01; the real sh600122 snapshots of 2017-04-20
(``../shared/data/quotes/fswzb_Debug_A``, read in place) trade through 14:57-14:59."""

from __future__ import annotations

import csv
from datetime import date, datetime, time

import pytest

from aigupiao.domain.sessions import (
    BEIJING,
    SSE_CLOSING_AUCTION_SINCE,
    SZSE_CLOSING_AUCTION_SINCE,
    Phase,
    has_closing_auction,
    is_continuous,
    phase_at,
)
from aigupiao.domain.symbols import Exchange

from ...conftest import SHARED, service_missing

SNAPSHOTS = SHARED / "data" / "quotes" / "fswzb_Debug_A" / "realtime_quotes.csv"


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), BEIJING)


def test_sse_traded_continuously_until_15_00_before_2018_08_20() -> None:
    day = date(2017, 4, 20)
    assert phase_at(at(day, 14, 58), Exchange.SH) is Phase.CONTINUOUS
    assert is_continuous(at(day, 14, 59), Exchange.SH)
    assert phase_at(at(day, 14, 58), Exchange.SZ) is Phase.CLOSING_AUCTION
    assert phase_at(at(day, 15, 0), Exchange.SH) is Phase.CLOSED
    assert phase_at(at(day, 9, 20), Exchange.SH) is Phase.OPENING_AUCTION  # the opening one
    # the last day without, and the first day with
    assert phase_at(at(date(2018, 8, 17), 14, 58), Exchange.SH) is Phase.CONTINUOUS
    assert phase_at(at(date(2018, 8, 20), 14, 58), Exchange.SH) is Phase.CLOSING_AUCTION
    assert SSE_CLOSING_AUCTION_SINCE == date(2018, 8, 20)


def test_szse_has_had_it_since_2006_07_01_and_bse_always() -> None:
    assert SZSE_CLOSING_AUCTION_SINCE == date(2006, 7, 1)
    assert phase_at(at(date(2006, 6, 30), 14, 58), Exchange.SZ) is Phase.CONTINUOUS
    assert phase_at(at(date(2006, 7, 3), 14, 58), Exchange.SZ) is Phase.CLOSING_AUCTION
    assert has_closing_auction(Exchange.BJ, date(2021, 11, 15))
    # no exchange named: the schedule the whole market keeps today (SZSE's)
    assert phase_at(at(date(2017, 4, 20), 14, 58)) is Phase.CLOSING_AUCTION
    assert phase_at(at(date(2026, 9, 14), 14, 58), Exchange.SH) is Phase.CLOSING_AUCTION


def test_real_sse_snapshots_of_2017_04_20_trade_through_14_57_to_14_59() -> None:
    if not SNAPSHOTS.is_file():
        service_missing("the shared data folder ../shared/data")
    with SNAPSHOTS.open(encoding="gbk", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if "14:57:00" <= r["time"] < "15:00:00"]
    assert rows and {r["date"] for r in rows} == {"2017-04-20"} and rows[0]["code"] == "600122"
    volumes = [int(r["volume"]) for r in rows]
    assert volumes == sorted(volumes) and volumes[-1] > volumes[0]  # it kept trading
    for row in rows:
        moment = datetime.fromisoformat(f"{row['date']}T{row['time']}").replace(tzinfo=BEIJING)
        assert phase_at(moment, Exchange.SH) is Phase.CONTINUOUS, row["time"]


@pytest.mark.parametrize("exchange", [Exchange.SH, Exchange.SZ, Exchange.BJ, None])
def test_today_every_exchange_closes_with_the_auction(exchange: Exchange | None) -> None:
    assert phase_at(at(date(2026, 9, 14), 14, 57), exchange) is Phase.CLOSING_AUCTION
