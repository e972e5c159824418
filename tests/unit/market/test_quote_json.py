"""The JSON shape of a quote, both ways, and what a malformed pushed record gets."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from aigupiao.core.clock import BEIJING
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.quote_json import parse_json, quote_from_dict, quote_to_dict
from aigupiao.market.validate import Reason, Refusal

QUOTE = Quote(
    symbol=parse_symbol("sh600519"),
    name="贵州茅台",
    ts=datetime(2026, 3, 2, 10, 15, 3, tzinfo=BEIJING),
    last=Decimal("1488.00"),
    previous_close=Decimal("1480.00"),
    open=Decimal("1481.00"),
    high=Decimal("1490.50"),
    low=Decimal("1479.99"),
    volume=1_234_500,
    amount=Decimal("1834567890.12"),
    bids=(Level(Decimal("1487.99"), 300),),
    asks=(Level(Decimal("1488.00"), 200), Level(Decimal("1488.01"), 100)),
    limit_up=Decimal("1628.00"),
    limit_down=Decimal("1332.00"),
)


def minimal(**changes: Any) -> dict[str, Any]:
    item = {
        "code": "600519",
        "ts": "2026-03-02T10:15:03+08:00",
        "last": "1488.00",
        "previous_close": "1480.00",
        "open": "1481.00",
        "high": "1490.50",
        "low": "1479.99",
        "volume": 1234500,
        "amount": "1834567890.12",
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not ...}


def test_round_trip_keeps_every_value_exact() -> None:
    public = quote_to_dict(QUOTE)
    assert public["last"] == "1488.00" and public["change_pct"] == "0.54"
    assert public["bids"] == [["1487.99", 300]] and public["limit_up"] == "1628.00"
    text = json.dumps(public, ensure_ascii=False)
    assert quote_from_dict(json.loads(text, parse_float=Decimal)) == QUOTE


def test_minimal_record_and_defaults() -> None:
    parsed = quote_from_dict(minimal())
    assert isinstance(parsed, Quote)
    assert parsed.symbol.full == "sh600519" and parsed.name == ""
    assert parsed.bids == () and parsed.limit_up is None
    assert parsed.amount == Decimal("1834567890.12")


def test_numbers_instead_of_strings_and_naive_times() -> None:
    item = json.loads(
        json.dumps(minimal(last=1488.5, volume="1234500", ts="2026-03-02T10:15:03")),
        parse_float=Decimal,
    )
    parsed = quote_from_dict(item)
    assert isinstance(parsed, Quote)
    assert parsed.last == Decimal("1488.5") and parsed.volume == 1_234_500
    assert parsed.ts == datetime(2026, 3, 2, 10, 15, 3, tzinfo=BEIJING)
    # A plain float (json.loads without parse_float) still gives the decimal it spells.
    floated = quote_from_dict(minimal(last=10.01))
    assert isinstance(floated, Quote) and floated.last == Decimal("10.01")
    levels = quote_from_dict(minimal(bids=[{"price": "1487.99", "volume": 300}]))
    assert isinstance(levels, Quote) and levels.bids == (Level(Decimal("1487.99"), 300),)


@pytest.mark.parametrize(
    ("item", "reason", "detail"),
    [
        ("sh600519", Reason.MALFORMED, "expected an object"),
        (minimal(code=...), Reason.MALFORMED, "missing field 'code'"),
        (minimal(code="12345"), Reason.NOT_A_SECURITY, "invalid security code"),
        (minimal(last=...), Reason.MALFORMED, "missing field 'last'"),
        (minimal(last="1,488"), Reason.MALFORMED, "'last' is not a number"),
        (minimal(last=True), Reason.MALFORMED, "'last' must be a decimal"),
        (minimal(last="NaN"), Reason.MALFORMED, "not a finite number"),
        (minimal(volume=10.5), Reason.MALFORMED, "whole number"),
        (minimal(volume=...), Reason.MALFORMED, "missing field 'volume'"),
        (minimal(ts=1700000000), Reason.MALFORMED, "ISO 8601 string"),
        (minimal(ts="yesterday"), Reason.MALFORMED, "not ISO 8601"),
        (minimal(bids=[["1.00"]]), Reason.MALFORMED, "[price, volume]"),
        (minimal(bids="none"), Reason.MALFORMED, "list"),
        (minimal(name=5), Reason.MALFORMED, "'name' must be a string"),
        (minimal(name="贵州\u202e茅台"), Reason.MALFORMED, "'name' must be printable"),
        (minimal(name="茅" * 33), Reason.MALFORMED, "at most 32"),
        # Numbers beyond what the market holds and the database stores.
        (minimal(volume=Decimal("1e30")), Reason.OUT_OF_RANGE, "1.000e+30 is above 1000000000000"),
        (minimal(volume=10**4000), Reason.OUT_OF_RANGE, "'volume' 1.000e+4000 is above"),
        (minimal(high=Decimal("100000.01")), Reason.OUT_OF_RANGE, "100000.01 is above 100000"),
        (minimal(amount="1e14"), Reason.OUT_OF_RANGE, "'amount' 1E+14 is above 10000000000000"),
        (minimal(last="1e400"), Reason.OUT_OF_RANGE, "'last'"),
        (minimal(high=Decimal("100000.01")), Reason.OUT_OF_RANGE, "'high'"),
        (minimal(limit_up="1e999999999"), Reason.OUT_OF_RANGE, "'limit_up'"),
        (minimal(bids=[["1.00", 10**13]]), Reason.OUT_OF_RANGE, "'bids'"),
        (minimal(asks=[["1e6", 100]]), Reason.OUT_OF_RANGE, "'asks'"),
        (minimal(last="1" * 65), Reason.MALFORMED, "'last' is not a number"),
    ],
)
def test_malformed_records(item: Any, reason: Reason, detail: str) -> None:
    refusal = quote_from_dict(item)
    assert isinstance(refusal, Refusal)
    assert refusal.reason is reason and detail in refusal.detail
    if isinstance(item, dict) and item.get("code") == "600519":
        assert refusal.code == "sh600519"


def test_parse_json_keeps_decimals_and_limits_depth() -> None:
    assert parse_json('{"last": 1488.10}') == {"last": Decimal("1488.10")}
    with pytest.raises(ValueError, match="nested deeper"):
        parse_json("[" * 1000 + "]" * 1000)
