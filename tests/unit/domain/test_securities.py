"""Security facts (issue 13, "Exchange rules"): the table, its defaults by code, and the
price limits and settlement they give. The whole-market checks against the exchanges'
limits of 2025-04-03 are in ``test_securities_data.py``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from aigupiao.domain import securities
from aigupiao.domain.securities import (
    FundKind,
    SecurityFacts,
    SecurityTable,
    Settlement,
    builtin_securities,
    current_securities,
    default_facts,
    facts_for,
    limit_prices,
    use_securities,
)
from aigupiao.domain.symbols import Board, Special, is_st_name, parse_symbol, price_limits

D = Decimal
DAY = date(2025, 4, 3)


@pytest.fixture(autouse=True)
def restore_table() -> Iterator[None]:
    previous = current_securities()
    yield
    use_securities(previous)


def limits_of(code: str, previous_close: str, day: date = DAY) -> tuple[Decimal, Decimal] | None:
    return limit_prices(facts_for(parse_symbol(code)), D(previous_close), day)


# --- 1. BSE limits are cut toward the previous close ------------------------------------


def test_bse_limits_are_cut_toward_the_previous_close() -> None:
    # 430047 at 15.29: 19.877 and 10.703; half up would give 19.88 / 10.70
    assert limits_of("430047", "15.29") == (D("19.87"), D("10.71"))
    assert price_limits(parse_symbol("bj430047"), D("15.29"), DAY) == (D("19.87"), D("10.71"))
    assert limits_of("920000", "9.26") == (D("12.03"), D("6.49"))  # 12.038, 6.482
    assert limits_of("920000", "10.00") == (D("13.00"), D("7.00"))  # exact stays exact
    # SSE and SZSE still round half up: the reference check 9.26 -> 10.19 / 8.33
    assert limits_of("600000", "9.26") == (D("10.19"), D("8.33"))


# --- 2. funds tracking STAR or ChiNext indexes: +-20% -----------------------------------


def test_star_and_chinext_index_funds_have_20pct_limits() -> None:
    assert limits_of("588000", "1.074") == (D("1.289"), D("0.859"))  # 科创50ETF, by code
    assert limits_of("159915", "2.000") == (D("2.400"), D("1.600"))  # 创业板ETF, built in
    assert limits_of("506000", "0.773") == (D("0.928"), D("0.618"))  # a STAR closed-end fund
    assert limits_of("510300", "4.000") == (D("4.400"), D("3.600"))  # 沪深300ETF: +-10%
    # ChiNext funds had +-10% before the ChiNext reform (2020-08-24)
    assert limits_of("159915", "2.000", date(2020, 8, 21)) == (D("2.200"), D("1.800"))
    assert facts_for(parse_symbol("588000")).limit_ratio == D("0.20")


# --- 3. T+0 funds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("513100", FundKind.CROSS_BORDER),  # 纳指ETF
        ("518880", FundKind.GOLD),  # 黄金ETF
        ("511880", FundKind.MONEY),  # 银华日利
        ("511010", FundKind.BOND),  # 国债ETF
        ("159941", FundKind.CROSS_BORDER),  # SZSE: from the built-in list
        ("159934", FundKind.GOLD),
        ("159001", FundKind.MONEY),
    ],
)
def test_cross_border_gold_bond_and_money_funds_settle_t_plus_0(code: str, kind: FundKind) -> None:
    facts = facts_for(parse_symbol(code))
    assert facts.fund_kind is kind
    assert facts.settlement is Settlement.T0 and facts.t_plus_zero


@pytest.mark.parametrize("code", ["510300", "159915", "588000", "600519", "300750", "508000"])
def test_stocks_and_domestic_equity_funds_settle_t_plus_1(code: str) -> None:
    assert facts_for(parse_symbol(code)).settlement is Settlement.T1


# --- 5. S names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "special"),
    [
        ("S佳通", Special.SHARE_REFORM),
        ("ST康美", Special.ST),
        ("SST华新", Special.ST),
        ("*ST海润", Special.STAR_ST),
        ("S*ST前锋", Special.STAR_ST),
        ("贵州茅台", None),
        ("SKF", None),  # not an A-share name, but not S + Chinese either
    ],
)
def test_special_treatment_from_names(name: str, special: Special | None) -> None:
    assert securities.special_of_name(name) is special
    assert is_st_name(name) is (special is not None)


def test_s_names_have_5pct_limits_like_st() -> None:
    facts = facts_for(parse_symbol("600182"))
    assert (facts.name, facts.special) == ("S佳通", Special.SHARE_REFORM)
    assert limits_of("600182", "10.00") == (D("10.50"), D("9.50"))
    # like ST, +-10% from 2026-07-06
    assert limits_of("600182", "10.00", date(2026, 7, 6)) == (D("11.00"), D("9.00"))
    # a quote's name is fresher than the table: an S name anywhere on the main boards
    plain = facts_for(parse_symbol("600519")).seen_as("S测试", DAY)
    assert limit_prices(plain, D("10.00"), DAY) == (D("10.50"), D("9.50"))


# --- 7. new listings -----------------------------------------------------------------------


def test_listing_dates_are_built_in() -> None:
    facts = facts_for(parse_symbol("301658"))  # C首航, listed 2025-04-02
    assert facts.listed_on == date(2025, 4, 2)
    assert limits_of("301658", "40.65") is None  # day 2 of a registration IPO: no limit
    # day 6 (2025-04-04 was a holiday): +-20% again
    assert limits_of("301658", "40.65", date(2025, 4, 10)) == (D("48.78"), D("32.52"))


def test_names_show_new_listings_the_table_does_not_know() -> None:
    unknown = SecurityFacts(parse_symbol("688999"))
    assert limit_prices(unknown, D("10.00"), DAY) == (D("12.00"), D("8.00"))
    assert limit_prices(unknown.seen_as("N新股", DAY), D("10.00"), DAY) is None
    assert limit_prices(unknown.seen_as("C新股", DAY), D("10.00"), DAY) is None
    assert unknown.seen_as("C新股", DAY).listed_on == date(2025, 4, 2)
    # an N name decides even against a listing date the table has
    old = facts_for(parse_symbol("600519")).seen_as("N茅台", DAY)
    assert old.listed_on == DAY
    assert facts_for(parse_symbol("600519")).seen_as("", DAY) == facts_for(parse_symbol("600519"))


# --- the table ---------------------------------------------------------------------------


def test_defaults_by_code() -> None:
    assert default_facts(parse_symbol("600519")) == SecurityFacts(parse_symbol("600519"))
    assert default_facts(parse_symbol("511990")).fund_kind is FundKind.MONEY
    assert default_facts(parse_symbol("511260")).fund_kind is FundKind.BOND
    assert default_facts(parse_symbol("520500")).fund_kind is FundKind.CROSS_BORDER
    assert default_facts(parse_symbol("508000")).fund_kind is FundKind.REIT
    assert default_facts(parse_symbol("sz180101")).fund_kind is FundKind.REIT
    assert default_facts(parse_symbol("159919")).fund_kind is FundKind.EQUITY
    assert default_facts(parse_symbol("589000")).limit_ratio == D("0.20")
    assert parse_symbol("180101").board is Board.FUND  # SZSE REITs parse


def test_the_builtin_table_and_an_update_laid_over_it() -> None:
    builtin = builtin_securities()
    assert len(builtin) > 5500 and "meltWLAN" in builtin.source
    star = parse_symbol("688999")
    updated = builtin.overlaid(
        {star.full: {"name": "新股", "listed_on": date(2026, 1, 5)}}, "symbols.json"
    )
    facts = updated.facts(star)
    assert (facts.name, facts.listed_on, facts.source) == ("新股", date(2026, 1, 5), "symbols.json")
    assert updated.source.endswith(" + symbols.json")
    # fields not given stay as they were
    kept = updated.overlaid({"sh600182": {"listed_on": date(1999, 5, 7)}}, "x")
    assert kept.facts(parse_symbol("600182")).special is Special.SHARE_REFORM
    with pytest.raises(ValueError, match="unknown fields"):
        builtin.overlaid({star.full: {"board": "bse"}}, "x")
    previous = use_securities(updated)
    assert previous is builtin and facts_for(star).listed_on == date(2026, 1, 5)
    assert limit_prices(facts_for(star), D("10.00"), date(2026, 1, 6)) is None  # day 2
    use_securities(SecurityTable({}))
    assert facts_for(star) == default_facts(star)


def test_facts_as_dict_for_people_and_the_symbols_table() -> None:
    assert facts_for(parse_symbol("513100")).as_dict() == {
        "code": "sh513100",
        "exchange": "SH",
        "board": "fund",
        "name": "",
        "fund_kind": "cross_border",
        "settlement": "T+0",
        "listed_on": None,
        "special": None,
        "limit_ratio": None,
        "source": "code",
    }
