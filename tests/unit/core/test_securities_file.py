"""Security facts files (``core/securities_sources.py``, ``core/securities_file.py``):
tushare stock_basic / fund_basic / stk_limit in, the update file in and out, malformed rows
refused with their line and reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.core.securities_file import (
    check_update,
    effective_securities,
    install_update,
    merge_changes,
    read_update,
    write_update,
)
from aigupiao.core.securities_sources import SecurityFileError, fund_kind_of, read_source
from aigupiao.domain.securities import (
    FundKind,
    builtin_securities,
    current_securities,
    facts_for,
    use_securities,
)
from aigupiao.domain.symbols import Special, parse_symbol

from ...conftest import SHARED, service_missing

BUILTIN = builtin_securities()
REFERENCE = SHARED / "data" / "reference" / "meltWLAN_QTS" / "data"


@pytest.fixture(autouse=True)
def restore_table() -> Iterator[None]:
    previous = current_securities()
    yield
    use_securities(previous)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


STOCK_BASIC = (
    "ts_code,symbol,name,area,industry,cnspell,market,list_date,act_name,act_ent_type\n"
    "688799.SH,688799,华纳药厂,湖南,化学制药,hnyc,科创板,20210713,,\n"
    "600182.SH,600182,S佳通,黑龙江,汽车配件,sjt,主板,19990507,,\n"
    "920999.BJ,920999,ST测试,北京,软件服务,stcs,北交所,20261120,,\n"
    "200011.SZ,200011,深物业B,深圳,区域地产,swyb,主板,19920318,,\n"
)


def test_stock_basic_gives_names_listing_dates_and_special_treatment(tmp_path: Path) -> None:
    facts = read_source(write(tmp_path / "stock_basic.csv", STOCK_BASIC), BUILTIN)
    assert (facts.layout, facts.rows, facts.skipped) == ("stock_basic", 4, ["200011.SZ"])
    assert facts.changes["sh688799"] == {
        "name": "华纳药厂",
        "special": None,
        "listed_on": date(2021, 7, 13),
    }
    assert facts.changes["sh600182"]["special"] is Special.SHARE_REFORM
    assert facts.changes["bj920999"]["special"] is Special.ST
    check = check_update(BUILTIN, facts)
    assert check.refusals() == [] and "bj920999" in check.added
    notes = " ".join(en for _, en in check.notes())
    assert "skipped 1 row" in notes and "200011.SZ" in notes


def test_malformed_rows_refuse_the_file_with_line_and_reason(tmp_path: Path) -> None:
    text = (
        "ts_code,symbol,name,list_date\n"
        "600000.SH,600000,浦发银行,19991110\n"
        "60000X.SH,60000X,坏代码,19991110\n"  # line 3
        "600004.SH,600004,白云机场,2003-13-28\n"  # line 4
        "600006.SH,600006,,19990727\n"  # line 5
        "600000.SH,600000,浦发银行,20000101\n"  # line 6: contradicts line 2
    )
    with pytest.raises(SecurityFileError) as caught:
        read_source(write(tmp_path / "bad.csv", text), BUILTIN)
    message = str(caught.value)
    assert "有 4 行无效" in message and "has 4 malformed row(s)" in message
    assert "第 3 行：证券代码无效" in message and "line 3: invalid security code" in message
    assert "line 4: invalid 上市日期 list_date : '2003-13-28'" in message
    assert "line 5: no name" in message and "line 6: sh600000 appears twice" in message


def test_an_unknown_layout_and_an_empty_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SecurityFileError, match="unknown header"):
        read_source(write(tmp_path / "x.csv", "a,b\n1,2\n"), BUILTIN)
    with pytest.raises(SecurityFileError, match="is empty"):
        read_source(write(tmp_path / "e.csv", "\n"), BUILTIN)
    with pytest.raises(SecurityFileError, match="cannot read"):
        read_source(tmp_path / "missing.csv", BUILTIN)


@pytest.mark.parametrize(
    ("fund_type", "name", "benchmark", "kind"),
    [
        ("QDII", "纳指ETF", "纳斯达克100指数", FundKind.CROSS_BORDER),
        ("股票型", "恒生科技ETF", "恒生科技指数", FundKind.CROSS_BORDER),
        ("货币市场型", "银华日利", "", FundKind.MONEY),
        ("债券型", "国债ETF", "上证5年期国债指数", FundKind.BOND),
        ("商品型", "黄金ETF", "上海黄金交易所Au99.99", FundKind.GOLD),
        ("商品型", "豆粕ETF", "大连商品交易所豆粕期货", FundKind.COMMODITY),
        ("股票型", "黄金股ETF", "中证沪深港黄金产业股票指数", FundKind.EQUITY),
        ("股票型", "沪深300ETF", "沪深300指数", FundKind.EQUITY),
        ("REITs", "华安张江REIT", "", FundKind.REIT),
    ],
)
def test_fund_kinds(fund_type: str, name: str, benchmark: str, kind: FundKind) -> None:
    assert fund_kind_of(fund_type, name, benchmark) is kind


def test_fund_basic_gives_kinds_and_20pct_for_star_and_chinext_funds(tmp_path: Path) -> None:
    text = (
        "ts_code,name,management,fund_type,list_date,benchmark,status,market\n"
        "513100.SH,纳指ETF,国泰,QDII,20130515,纳斯达克100指数,L,E\n"
        "159999.SZ,创业板200ETF,某某,股票型,20261120,创业板200指数收益率,L,E\n"
        "000001.OF,华夏成长,华夏,混合型,,沪深300,L,O\n"
        "510000.SH,退市ETF,某某,股票型,20100101,,D,E\n"
    )
    facts = read_source(write(tmp_path / "fund_basic.csv", text), BUILTIN)
    assert facts.layout == "fund_basic" and facts.rows == 2
    assert facts.changes["sh513100"]["fund_kind"] is FundKind.CROSS_BORDER
    new = facts.changes["sz159999"]
    assert (new["fund_kind"], new["limit_ratio"], new["listed_on"]) == (
        FundKind.EQUITY,
        Decimal("0.20"),
        date(2026, 11, 20),
    )
    assert "special" not in new


def test_stk_limit_sets_fund_ratios_and_checks_stocks(tmp_path: Path) -> None:
    text = (
        "trade_date,ts_code,pre_close,up_limit,down_limit\n"
        "20250403,159915.SZ,2.000,2.200,1.800\n"  # now +-10%: the built-in +-20% is cleared
        "20250403,159919.SZ,4.000,4.800,3.200\n"  # now +-20%
        "20250403,510300.SH,4.000,4.400,3.600\n"  # as known: nothing to store
        "20250403,430047.BJ,15.29,19.87,10.71\n"  # as the facts say
        "20250403,600000.SH,9.26,10.20,8.33\n"  # differs from the facts
        "20250403,301658.SZ,40.65,999999.999,0.01\n"  # no limit
        "20250403,900901.BJ,0.776,0.854,0.698\n"  # a B share
    )
    facts = read_source(write(tmp_path / "stk_limit.csv", text), BUILTIN)
    assert facts.changes == {
        "sz159915": {"limit_ratio": None},
        "sz159919": {"limit_ratio": Decimal("0.20")},
    }
    notes = " ".join(en for _, en in facts.notes)
    assert "checked the limits of 2 stocks; 1 differ" in notes and "sh600000" in notes
    assert "1 securities had no limit that day" in notes and "sz301658" in notes
    bad = text + "20250403,510500.SH,6.000,5.400,6.600\n"
    with pytest.raises(SecurityFileError, match=r"line 9: down limit 6\.600 is not below"):
        read_source(write(tmp_path / "bad.csv", bad), BUILTIN)


def test_the_real_files_agree_with_the_builtin_table() -> None:
    if not (REFERENCE / "stk_limit_stock_market.csv").is_file():
        service_missing("the shared data folder ../shared/data")
    limits = read_source(REFERENCE / "stk_limit_stock_market.csv", BUILTIN)
    assert limits.changes == {}  # the built-in fund ratios are these
    assert len(limits.skipped) == 82  # B shares: 200xxx, 201xxx, 900xxx
    stocks = read_source(REFERENCE / "stock_basic.csv", BUILTIN)
    assert len(stocks.changes) == 5408
    assert check_update(BUILTIN, stocks).refusals() == []  # the same listing dates


def test_the_update_file_round_trip_and_install(tmp_path: Path) -> None:
    facts = read_source(write(tmp_path / "stock_basic.csv", STOCK_BASIC), BUILTIN)
    out = tmp_path / "var" / "symbols.json"
    changes = merge_changes({"sh513100": {"name": "纳指ETF"}}, facts.changes)
    write_update(out, changes, "stock_basic.csv")
    stored = json.loads(out.read_text(encoding="utf-8"))
    assert stored["format"] == "aigupiao-symbols/1"
    assert stored["securities"]["sh600182"] == {
        "listed_on": "1999-05-07",
        "name": "S佳通",
        "special": "S",
    }
    assert read_update(out) == (changes, "stock_basic.csv")
    table = effective_securities(out)
    assert table.facts(parse_symbol("920999")).special is Special.ST
    assert table.facts(parse_symbol("513100")).name == "纳指ETF"
    assert install_update(tmp_path / "none.json") is None
    assert install_update(out) is not None
    assert facts_for(parse_symbol("920999")).listed_on == date(2026, 11, 20)
    # a copied update file reads as a source too
    assert read_source(out, BUILTIN).changes == changes


@pytest.mark.parametrize(
    "content",
    [
        {"format": "other"},
        {"format": "aigupiao-symbols/1"},
        {"format": "aigupiao-symbols/1", "securities": {"sh999999": {}}},
        {"format": "aigupiao-symbols/1", "securities": {"sh600000": {"board": "bse"}}},
        {"format": "aigupiao-symbols/1", "securities": {"sh600000": {"listed_on": "1999-13-01"}}},
        {"format": "aigupiao-symbols/1", "securities": {"sh510300": {"fund_kind": "stocks"}}},
        {"format": "aigupiao-symbols/1", "securities": {"sh510300": {"limit_ratio": "2"}}},
    ],
)
def test_a_broken_update_file_is_refused(tmp_path: Path, content: object) -> None:
    path = write(tmp_path / "symbols.json", json.dumps(content))
    with pytest.raises(SecurityFileError) as caught:
        install_update(path)
    assert str(path) in str(caught.value)
