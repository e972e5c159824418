"""The report's figures, checked against sums done by hand on small series."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from aigupiao.backtest.metrics import compute_metrics, round_trips, sort_value
from aigupiao.backtest.model import CorporateAction

from .results import day, result, trade

ROOT_242 = math.sqrt(242)


def test_returns_sharpe_sortino_and_drawdown_by_hand() -> None:
    # cash 100 -> closes 110, 99, 121: returns +10%, -10%, +22/99
    metrics = compute_metrics(result(["110", "99", "121"]))
    returns = [0.1, -0.1, 22 / 99]
    mean = sum(returns) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 2)
    downside = math.sqrt(0.1**2 / 3)
    assert metrics["total_return"] == 0.21
    assert metrics["annual_return"] == pytest.approx(1.21 ** (242 / 3) - 1, rel=1e-6)
    assert metrics["sharpe"] == pytest.approx(mean / std * ROOT_242, abs=1e-6)
    assert metrics["sharpe"] == pytest.approx(7.0838, abs=1e-3)
    assert metrics["sortino"] == pytest.approx(mean / downside * ROOT_242, abs=1e-6)
    assert metrics["max_drawdown"] == -0.1
    assert metrics["max_drawdown_peak"] == day(1).isoformat()
    assert metrics["max_drawdown_trough"] == day(2).isoformat()
    assert metrics["max_drawdown_recovery"] == day(3).isoformat()
    assert metrics["final_equity"] == "121.00"
    assert metrics["pnl"] == "21.00"
    assert metrics["days"] == 3
    assert (metrics["start"], metrics["end"]) == (day(1).isoformat(), day(3).isoformat())


def test_the_deepest_drawdown_wins_and_an_unrecovered_one_has_no_recovery_date() -> None:
    # 100 -> 120 -> 108 (-10%) -> 125 (new peak) -> 100 (-20%) -> 110
    metrics = compute_metrics(result(["120", "108", "125", "100", "110"]))
    assert metrics["max_drawdown"] == -0.2
    assert metrics["max_drawdown_peak"] == day(3).isoformat()
    assert metrics["max_drawdown_trough"] == day(4).isoformat()
    assert metrics["max_drawdown_recovery"] is None


def test_a_risk_free_rate_lowers_the_sharpe_ratio() -> None:
    series = ["101", "100", "103", "102"]
    plain = compute_metrics(result(series))
    with_rate = compute_metrics(result(series), risk_free=0.0242)
    returns = [0.01, 100 / 101 - 1, 0.03, 102 / 103 - 1]
    excess = [r - 0.0001 for r in returns]
    mean = sum(excess) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in excess) / 3)
    assert with_rate["sharpe"] == pytest.approx(mean / std * ROOT_242, abs=1e-6)
    assert with_rate["sharpe"] < plain["sharpe"]
    assert with_rate["risk_free"] == 0.0242


def test_flat_equity_without_trades_has_no_sharpe_and_no_drawdown() -> None:
    metrics = compute_metrics(result(["100"] * 5))
    assert metrics["total_return"] == 0.0
    assert metrics["annual_return"] == 0.0
    assert metrics["sharpe"] is None
    assert metrics["sortino"] is None
    assert metrics["max_drawdown"] == 0.0
    assert metrics["max_drawdown_peak"] is None
    assert metrics["trades"] == metrics["round_trips"] == 0
    assert metrics["win_rate"] is None
    assert metrics["profit_factor"] is None
    assert metrics["fees_paid"] == "0.00"
    assert metrics["turnover"] == 0.0
    assert metrics["benchmark"] is None
    json.dumps(metrics, allow_nan=False)  # no NaN or infinity anywhere


def test_one_day() -> None:
    metrics = compute_metrics(result(["105"]))
    assert metrics["total_return"] == 0.05
    assert metrics["annual_return"] == pytest.approx(1.05**242 - 1, rel=1e-6)
    assert metrics["sharpe"] is None  # one return has no spread
    assert metrics["max_drawdown"] == 0.0
    json.dumps(metrics, allow_nan=False)


def test_no_equity_at_all_is_still_a_report() -> None:
    metrics = compute_metrics(result([]))
    assert metrics["days"] == 0
    assert metrics["total_return"] == 0.0
    assert metrics["annual_return"] is None
    assert metrics["exposure"] == 0.0
    json.dumps(metrics, allow_nan=False)


def test_round_trips_fifo_win_rate_profit_factor_fees_turnover() -> None:
    trades = [
        trade(1, "buy", "10", 100, "5"),
        trade(2, "buy", "12", 100, "5"),
        # 150 sold: 100 of the first lot, 50 of the second, fees of both legs pro rata
        trade(3, "sell", "13", 150, "7.5"),
        trade(4, "sell", "11", 50, "2.5"),
        # another strategy's sell of the same code matches none of ma_cross's buys
        trade(4, "sell", "11", 100, "0", strategy="dip_buy"),
    ]
    trips = round_trips(trades)
    assert [(t.closed, t.quantity, t.pnl) for t in trips] == [
        (day(3), Decimal(150), Decimal("335")),  # 1950 - 7.5 - (1005 + 602.5)
        (day(4), Decimal(50), Decimal("-55")),  # 550 - 2.5 - 602.5
    ]
    assert trips[0].opened == day(1)
    metrics = compute_metrics(
        result(["100", "100", "100", "100"], cash="100", trades=trades, exposure=["0.5"] * 4)
    )
    assert metrics["round_trips"] == 2
    assert (metrics["wins"], metrics["losses"]) == (1, 1)
    assert metrics["win_rate"] == 0.5
    assert metrics["profit_factor"] == round(335 / 55, 6)
    assert (metrics["gross_profit"], metrics["gross_loss"]) == ("335.00", "55.00")
    assert metrics["fees_paid"] == "20.00"
    assert metrics["traded_value"] == "5800.00"  # 1000 + 1200 + 1950 + 550 + 1100
    assert metrics["turnover"] == 58.0  # over the average equity of 100
    assert metrics["exposure"] == 0.5
    assert (metrics["trades"], metrics["buys"], metrics["sells"]) == (5, 2, 3)


def test_only_winning_round_trips_have_no_profit_factor() -> None:
    trades = [trade(1, "buy", "10", 100), trade(2, "sell", "11", 100)]
    metrics = compute_metrics(result(["100", "200"], trades=trades))
    assert metrics["win_rate"] == 1.0
    assert metrics["profit_factor"] is None


def bonus(*, applied: bool) -> CorporateAction:
    return CorporateAction(
        "sh600000", day(2), Decimal("21.6"), Decimal("12"), Decimal("1.8"), applied=applied
    )


def test_a_bonus_issue_adjusts_the_open_lots() -> None:
    # 100 shares at 20, a 10-for-8 bonus (ratio 1.8), 180 shares sold at 12: +160, not a loss
    action = bonus(applied=True)
    trades = [trade(1, "buy", "20", 100), trade(3, "sell", "12", 180)]
    (trip,) = round_trips(trades, [action])
    assert trip.quantity == Decimal(180)
    assert trip.pnl == pytest.approx(Decimal(160), abs=Decimal("1e-20"))
    # not applied (nothing was held, or the engine did not adjust): the lot stays as bought
    unapplied = bonus(applied=False)
    (trip,) = round_trips(trades, [unapplied])
    assert trip.quantity == Decimal(100)
    assert trip.pnl == Decimal(1200 - 2000)


def test_benchmark_side_by_side() -> None:
    metrics = compute_metrics(result(["110", "99", "121"], benchmark=["100", "90", "99"]))
    bench = metrics["benchmark"]
    assert bench["name"] == "buy_and_hold"
    assert bench["total_return"] == -0.01
    assert bench["max_drawdown"] == -0.1
    assert bench["max_drawdown_peak"] == day(1).isoformat()
    assert bench["max_drawdown_trough"] == day(2).isoformat()
    assert bench["max_drawdown_recovery"] is None
    returns = [-0.1, 0.1]
    mean = sum(returns) / 2
    std = math.sqrt(sum((r - mean) ** 2 for r in returns))
    assert bench["sharpe"] == pytest.approx(mean / std * ROOT_242, abs=1e-6)
    assert metrics["excess_return"] == 0.22


def test_sort_value_reads_money_and_ratios() -> None:
    metrics = compute_metrics(result(["110", "99", "121"]))
    assert sort_value(metrics, "final_equity") == 121.0
    assert sort_value(metrics, "total_return") == 0.21
    assert sort_value(compute_metrics(result(["100", "100"])), "sharpe") is None


def test_a_sell_closes_its_own_strategys_lots_first_then_the_accounts() -> None:
    trades = [
        trade(1, "buy", "10", 100, strategy="ma_cross"),
        trade(2, "buy", "20", 100, strategy="dip_buy"),
        trade(3, "sell", "25", 100, strategy="dip_buy"),  # its own lot, not the older one
        trade(4, "buy", "12", 100, strategy="dip_buy"),
        # the stop-loss bought nothing: it closes the account's lots, oldest first
        trade(5, "sell", "11", 150, "3", strategy="stop_loss"),
    ]
    trips = round_trips(trades)
    assert [(t.strategy, t.closed_by, t.opened, t.quantity, t.pnl) for t in trips] == [
        ("dip_buy", "dip_buy", day(2), Decimal(100), Decimal(500)),
        ("ma_cross", "stop_loss", day(1), Decimal(100), Decimal(98)),  # 1100 - 2 - 1000
        ("dip_buy", "stop_loss", day(4), Decimal(50), Decimal(-51)),  # 550 - 1 - 600
    ]
    metrics = compute_metrics(result(["100"] * 5, trades=trades))
    assert (metrics["round_trips"], metrics["wins"], metrics["losses"]) == (3, 2, 1)
