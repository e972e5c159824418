"""The feeds, the simulator and the market state keep and use the security facts
(issue 13, "Exchange rules"): a Tencent "no limit" stays no limit (7), the simulator
and the strategies' market state limit BSE stocks, +-20% funds and S names as the
exchanges do (1, 2, 5), and the symbols table rows carry the facts."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime, time
from decimal import Decimal

from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.market import Quote
from aigupiao.domain.rules import day_limits
from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.feeds.tencent import parse_tencent_record
from aigupiao.market.quote_json import quote_from_dict, quote_to_dict
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import SymbolInfo
from aigupiao.market.validate import Refusal
from aigupiao.strategy.state import MarketState

D = Decimal
DAY = date(2026, 3, 3)


def tencent_body(code: str, name: str, up: str, down: str, volume: str = "5000") -> str:
    fields = ["0"] * 88
    fields[:7] = ["1", name, code, "12.80", "10.00", "11.00", volume]
    for i in range(9, 29, 2):
        fields[i], fields[i + 1] = "12.80", "10"
    fields[30] = "20260303100000"
    fields[33], fields[34] = "12.90", "10.50"
    fields[35] = f"12.80/{volume}/64000"
    fields[47], fields[48] = up, down
    return "~".join(fields)


def test_tencent_no_limit_is_kept_as_no_limit() -> None:
    """Item 7: -1 limits on a traded security: no limit today, never recomputed."""
    listing = parse_tencent_record("sh688999", tencent_body("688999", "C新股", "-1", "-1"))
    assert listing.no_limit and (listing.limit_up, listing.limit_down) == (None, None)
    assert day_limits(listing, DAY) == (None, None)
    # without the flag the same quote would get +-20% from its previous close
    assert day_limits(dataclasses.replace(listing, name="新股", no_limit=False), DAY) == (
        D("12.00"),
        D("8.00"),
    )
    plain = parse_tencent_record("sh600000", tencent_body("600000", "浦发银行", "11.00", "9.00"))
    assert not plain.no_limit and plain.limit_up == D("11.00")
    index = parse_tencent_record("sh000001", tencent_body("000001", "上证指数", "-1", "-1"))
    assert not index.no_limit  # an index has no limit anyway


def test_no_limit_crosses_the_json_api() -> None:
    listing = parse_tencent_record("sh688999", tencent_body("688999", "N新股", "-1", "-1"))
    public = quote_to_dict(listing)
    assert public["no_limit"] is True
    assert quote_from_dict(json.loads(json.dumps(public), parse_float=D)) == listing
    item = {**public, "no_limit": "yes"}
    refused = quote_from_dict(item)
    assert isinstance(refused, Refusal) and "no_limit" in refused.detail
    assert quote_to_dict(dataclasses.replace(listing, no_limit=False))["no_limit"] is False


def test_the_simulator_limits_securities_by_their_facts() -> None:
    universe = [
        SymbolInfo(parse_symbol("bj430047"), "诺思兰德", D("15.29")),  # item 1
        SymbolInfo(parse_symbol("sh588000"), "科创50ETF", D("1.074")),  # item 2
        SymbolInfo(parse_symbol("sh600182"), "S佳通", D("10.00"), is_st=True),  # item 5
        SymbolInfo(parse_symbol("sh600519"), "贵州茅台", D("1466.80")),
    ]
    clock = ManualClock(datetime.combine(DAY, time(9, 31), BEIJING))
    quotes = {q.symbol.full: q for q in SimMarket(universe, clock).step()}
    assert (quotes["bj430047"].limit_up, quotes["bj430047"].limit_down) == (D("19.87"), D("10.71"))
    assert (quotes["sh588000"].limit_up, quotes["sh588000"].limit_down) == (D("1.289"), D("0.859"))
    assert (quotes["sh600182"].limit_up, quotes["sh600182"].limit_down) == (D("10.50"), D("9.50"))


def _quote(code: str, previous_close: str, name: str = "测试", no_limit: bool = False) -> Quote:
    price = D(previous_close)
    return Quote(
        symbol=parse_symbol(code),
        name=name,
        ts=datetime.combine(DAY, time(10, 0), BEIJING),
        last=price,
        previous_close=price,
        open=price,
        high=price,
        low=price,
        volume=1000,
        amount=price * 1000,
        no_limit=no_limit,
    )


def test_the_market_state_limits_securities_by_their_facts() -> None:
    state = MarketState()
    state.on_quotes(
        [
            _quote("bj430047", "15.29"),
            _quote("sh588000", "1.074"),
            _quote("sh600182", "10.00", name="S佳通"),
            _quote("sh688999", "10.00", name="N新股"),
            _quote("sh688899", "10.00", no_limit=True),
        ]
    )
    up, down = state.limit_up.tolist(), state.limit_down.tolist()
    assert (up[0], down[0]) == (19.87, 10.71)
    assert (round(up[1], 3), round(down[1], 3)) == (1.289, 0.859)
    assert (up[2], down[2]) == (10.5, 9.5) and state.is_st.tolist()[2]
    assert math.isnan(up[3]) and math.isnan(down[3])  # day 1 of a listing
    assert math.isnan(up[4]) and math.isnan(down[4])  # the quote says: no limit


def test_symbols_table_rows_carry_the_facts() -> None:
    row = SymbolInfo(parse_symbol("sh513100"), "纳指ETF", D("1.442")).as_row()
    assert (row["settlement"], row["fund_kind"], row["special"]) == ("T+0", "cross_border", None)
    row = SymbolInfo(parse_symbol("sh600182"), "S佳通", D("14.91")).as_row()
    assert (row["is_st"], row["special"], row["settlement"]) == (True, "S", "T+1")
    assert row["listed_on"] == date(1999, 5, 7)
    row = SymbolInfo(parse_symbol("sz159915"), "创业板ETF", D("2.000")).as_row()
    assert row["limit_ratio"] == D("0.20")
