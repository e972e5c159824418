"""Loading bars for a backtest: every layout under ../shared/data, units, order, codes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from aigupiao.backtest.data import load_paths, read_bars
from aigupiao.backtest.model import BacktestInputError

DATA = Path("../shared/data")


def test_every_daily_layout_normalised() -> None:
    plain = read_bars(DATA / "daily/hzjsw_stock-backtest/data/consumer_600519.csv")[0]
    assert plain.symbol.full == "sh600519" and plain.adjustment == "raw"
    tushare = read_bars(
        DATA / "daily/UFund-Me_Qbot/docs/tutorials_code/05.kdj_macd_in_A_market/"
        "thoudsand_stocks/000001.SZ.csv"
    )[0]
    # 2019-01-02: vol 539386.32 lots, amount 498695.109 thousand CNY
    assert tushare.columns["volume"][0] == 53938632
    assert tushare.columns["amount"][0] == pytest.approx(498_695_109)
    newest_first = read_bars(DATA / "daily/zz090923610_stock/data/000001.csv")[0]
    assert np.all(np.diff(newest_first.stamps) > 0)
    akshare = read_bars(DATA / "daily/lixiaodog_A-backtest/data/600519_daily.csv")[0]
    assert akshare.symbol.full == "sh600519" and akshare.columns["close"][0] == 1578.68
    qfq = read_bars(
        DATA / "daily/UFund-Me_Qbot/docs/tutorials_code/08.harami_in_A_market/"
        "thoudsand_stocks/000001.SZ.csv"
    )[0]
    assert qfq.adjustment == "qfq"


def test_minute_layouts() -> None:
    fifteen = load_paths(
        [DATA / "minute/xiaoyinan2004-coder_quant_trading_project/data/minute/600519.csv"]
    )
    assert fifteen.intraday and fifteen.bars == 4800
    one = read_bars(DATA / "minute/lixiaodog_A-backtest/data/600519_1min.csv")[0]
    assert (one.columns["open"] > 0).all()  # the upstream zero opens take the bar's close
    assert one.columns["volume"][0] == 22700  # lots to shares


def test_duplicates_across_sector_files_are_read_once() -> None:
    folder = DATA / "daily/hzjsw_stock-backtest/data"
    market = load_paths([folder / "bank_600000.csv", folder / "600000.csv"])
    assert market.codes == ["sh600000"]
    assert any("sh600000" in warning for warning in market.warnings)


def test_select_and_bad_input(tmp_path: Path) -> None:
    market = load_paths([DATA / "daily/hzjsw_stock-backtest/data/bank_000001.csv"])
    window = market.select(start=date(2024, 1, 1), end=date(2024, 1, 31))
    assert window.day_ordinals[0] == date(2024, 1, 2).toordinal() and len(window.stamps) == 22
    with pytest.raises(BacktestInputError, match="sh600519"):
        market.select(["600519"])
    with pytest.raises(BacktestInputError, match="2030"):
        market.select(start=date(2030, 1, 1))
    with pytest.raises(BacktestInputError, match=r"missing\.csv"):
        load_paths([tmp_path / "missing.csv"])
    unnamed = tmp_path / "prices.csv"
    unnamed.write_text("date,open,high,low,close,volume\n2024-01-02,1,1,1,1,100\n")
    with pytest.raises(BacktestInputError, match=r"prices\.csv"):
        load_paths([unnamed])


def test_codes_without_bars_in_the_range_are_left_out_unless_named() -> None:
    folder = DATA / "daily/hzjsw_stock-backtest/data"
    market = load_paths([folder / "600017.csv", folder / "bank_000001.csv", folder / "600000.csv"],
                        skip_bad_files=True)  # fmt: skip
    assert market.codes == ["sh600000", "sz000001"]  # 600017.csv: high below low, skipped
    early = market.select(end=date(2021, 12, 31))  # 600000.csv starts in 2022
    assert early.codes == ["sz000001"]
    with pytest.raises(BacktestInputError, match="sh600000"):
        market.select(["sh600000"], end=date(2021, 12, 31))


def test_a_code_in_sets_of_different_years_is_merged_by_date() -> None:
    old = (
        DATA / "daily/UFund-Me_Qbot/docs/tutorials_code/05.kdj_macd_in_A_market/"
        "thoudsand_stocks/000001.SZ.csv"
    )
    new = DATA / "daily/hzjsw_stock-backtest/data/bank_000001.csv"
    market = load_paths([old, new])
    assert market.codes == ["sz000001"]
    days = market.day_ordinals
    assert days[0] == date(2019, 1, 2).toordinal() and days[-1] == date(2026, 4, 30).toordinal()
    assert market.bars == len(days) and "merged by date" in market.warnings[-1]


def test_a_file_without_amount_gets_volume_times_average_price() -> None:
    # hzjsw files have no amount column: liquidity filters would see 0 and refuse everything.
    market = load_paths([DATA / "daily/hzjsw_stock-backtest/data/bank_000001.csv"])
    volume, amount = market.columns["volume"][:, 0], market.columns["amount"][:, 0]
    average = sum(market.columns[n][:, 0] for n in ("open", "high", "low", "close")) / 4
    assert np.all(volume > 0)
    np.testing.assert_allclose(amount, volume * average)
    assert not market.has_amount
    assert any("成交额" in warning and "estimated" in warning for warning in market.warnings)


def test_a_file_with_amount_keeps_it() -> None:
    folder = DATA / "daily/UFund-Me_Qbot/docs/tutorials_code/05.kdj_macd_in_A_market"
    market = load_paths([next(iter(sorted((folder / "thoudsand_stocks").glob("*.csv"))))])
    assert market.has_amount and not any("成交额" in w for w in market.warnings)
