"""The built-in security facts against the exchanges' own limits of 2025-04-03.

tushare's ``stk_limit`` of that day (``../shared/data/reference/meltWLAN_QTS``, read in
place) has the limit prices of 7,071 securities, ``daily`` the previous close of every
stock. With the built-in facts, every stock's limits follow from its previous close and
every fund's limits from some previous close on its tick; and the generated data module
is what ``aigupiao symbols generate`` makes from the data today.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.cli import _symbols_build
from aigupiao.domain.errors import DomainError
from aigupiao.domain.money import round_half_up
from aigupiao.domain.securities import SecurityFacts, builtin_securities, limit_prices
from aigupiao.domain.symbols import Board, Special, Symbol, parse_symbol

from ...conftest import SHARED, service_missing

DAY = date(2025, 4, 3)
REFERENCE = "reference/meltWLAN_QTS/data"
TABLE = builtin_securities()


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = SHARED / "data"
    if not (path / REFERENCE / "stk_limit_stock_market.csv").is_file():
        service_missing("the shared data folder ../shared/data")
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def limits(data_dir: Path) -> dict[str, tuple[Decimal, Decimal]]:
    rows = _rows(data_dir / REFERENCE / "stk_limit_stock_market.csv")
    return {r["ts_code"]: (Decimal(r["up_limit"]), Decimal(r["down_limit"])) for r in rows}


@pytest.fixture(scope="module")
def previous_closes(data_dir: Path) -> dict[str, Decimal]:
    rows = _rows(data_dir / REFERENCE / "daily_stock_market.csv")
    return {r["ts_code"]: Decimal(r["pre_close"]) for r in rows}


def _symbol(ts_code: str) -> Symbol | None:
    try:
        return parse_symbol(ts_code)
    except DomainError:
        return None  # B shares: not traded


def test_every_bse_stock_is_cut_toward_its_previous_close(
    limits: dict[str, tuple[Decimal, Decimal]], previous_closes: dict[str, Decimal]
) -> None:
    """Issue 13, item 1: all 265 BSE rows; 118 of them break half-up rounding."""
    bse = [code for code in limits if code.endswith(".BJ") and code in previous_closes]
    assert len(bse) == 265
    half_up_wrong = 0
    for code in bse:
        symbol = parse_symbol(code)
        close = previous_closes[code]
        assert limit_prices(TABLE.facts(symbol), close, DAY) == limits[code], code
        half_up = (
            round_half_up(close * Decimal("1.3"), symbol.tick),
            round_half_up(close * Decimal("0.7"), symbol.tick),
        )
        half_up_wrong += half_up != limits[code]
    assert half_up_wrong == 118
    assert limits["430047.BJ"] == (Decimal("19.87"), Decimal("10.71"))
    assert previous_closes["430047.BJ"] == Decimal("15.29")


def test_every_fund_fits_its_limits(limits: dict[str, tuple[Decimal, Decimal]]) -> None:
    """Issue 13, item 2: every fund's limits come out of some previous close on its tick
    once the facts know the +-20% funds; 141 of the 1,561 ETFs and LOFs have them."""
    funds = {
        code: symbol
        for code in limits
        if (symbol := _symbol(code)) is not None and symbol.board is Board.FUND
    }
    etfs_and_lofs = [c for c in funds if not c.startswith(("180", "184"))]  # REITs, closed-end
    assert len(etfs_and_lofs) == 1561
    wide = 0
    for code, symbol in funds.items():
        facts = TABLE.facts(symbol)
        up, down = limits[code]
        assert _symbols_build.fund_limits_fit(facts, up, down, DAY), code
        wide += facts.ratio_on(DAY) == Decimal("0.20")
        # and none of them fits the board's +-10% alone when it has +-20%
        if facts.ratio_on(DAY) is not None:
            assert not _symbols_build.fund_limits_fit(SecurityFacts(symbol), up, down, DAY)
    assert wide == 141
    assert limits["588000.SH"] == (Decimal("1.289"), Decimal("0.859"))


def test_every_stock_fits_its_limits(
    limits: dict[str, tuple[Decimal, Decimal]], previous_closes: dict[str, Decimal]
) -> None:
    """Every stock of the day: ST and *ST (+-5%), 600182 S佳通 (+-5%, item 5), and the
    listings without a limit (301658 C首航 on its second day, item 7)."""
    checked = Counter[str]()
    for code, close in previous_closes.items():
        symbol = parse_symbol(code)
        expected: tuple[Decimal, Decimal] | None = limits[code]
        if expected == _symbols_build.NO_LIMIT:
            expected = None
        facts = TABLE.facts(symbol)
        assert limit_prices(facts, close, DAY) == expected, code
        checked[facts.special.value if facts.special else "none"] += 1
        checked["no limit"] += expected is None
    assert sum(checked[key] for key in ("none", "ST", "*ST", "S")) == 5393
    assert checked["S"] == 1 and checked["no limit"] == 1
    assert TABLE.facts(parse_symbol("600182")).special is Special.SHARE_REFORM
    assert limits["600182.SH"] == limit_prices(
        TABLE.facts(parse_symbol("600182")), previous_closes["600182.SH"], DAY
    )


def test_the_generated_module_is_up_to_date(data_dir: Path) -> None:
    built = _symbols_build.build(data_dir)
    module = Path(_symbols_build.__file__).parents[1] / "domain" / "securities_data.py"
    assert module.read_text(encoding="utf-8") == built.text
    assert dict(built.table.entries) == dict(TABLE.entries)
    assert (built.listed, built.special, built.wide_funds) == (5408, 137, 64)
    assert (built.stocks_checked, built.funds_checked) == (5393, 1583)
    assert len(built.text.encode()) < 80_000  # compact: facts, not a copy of the files
