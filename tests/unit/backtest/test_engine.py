"""The backtest engine on real bars: corporate actions, rules at the fill, T+1, lots, no
look-ahead, cancel and bad input."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.backtest.data import load
from aigupiao.backtest.engine import run_backtest, simulate
from aigupiao.backtest.model import (
    BacktestCancelled,
    BacktestConfig,
    BacktestInputError,
    FillModel,
    Rules,
    StrategyRun,
)
from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal, StrategyContext

DAILY = Path("../shared/data/daily/hzjsw_stock-backtest/data")
MINUTE = Path("../shared/data/minute/xiaoyinan2004-coder_quant_trading_project/data/minute")


class Script:
    """A strategy that proposes what its plan says on each date: {date: [(code, side, qty)]}."""

    name = "script"

    def __init__(self, plan: dict[date, list[tuple[str, str, int]]]) -> None:
        self.plan = plan
        self.done: set[date] = set()

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        today = context.now.date()
        if today in self.done:
            return []
        self.done.add(today)
        signals = []
        for code, side, quantity in self.plan.get(today, []):
            assert context.market is not None
            quote = context.market.quote(code)
            assert quote is not None
            signals.append(
                Signal(symbol=quote.symbol, side=Side(side), quantity=quantity, price=None,
                       reason="测试 (test)")
            )  # fmt: skip
        return signals


def _config(*paths: Path, **extra: object) -> BacktestConfig:
    return BacktestConfig(strategies=(StrategyRun(name="ma_cross"),), data=paths, **extra)  # type: ignore[arg-type]


def test_a_held_position_is_adjusted_across_300750s_10_for_8_bonus() -> None:
    config = _config(DAILY / "tech_300750.csv", start=date(2023, 4, 17), end=date(2023, 5, 10))
    data = load(config)
    result = simulate(config, data, [Script({date(2023, 4, 20): [("sz300750", "buy", 100)]})])
    assert [(t.date, t.quantity) for t in result.trades] == [(date(2023, 4, 21), 100)]
    (action,) = result.corporate_actions
    assert (action.code, action.date) == ("sz300750", date(2023, 4, 26))
    assert action.previous_close == Decimal("385.90") and action.open == Decimal("213.00")
    assert action.ratio == Decimal("1.8") and action.applied
    by_day = {point.date: point for point in result.equity}
    before, after = by_day[date(2023, 4, 25)], by_day[date(2023, 4, 26)]
    # 180 shares at 224.50 after, 100 at 385.90 before: no 45% "loss" on the ex-date
    assert after.equity - after.cash == Decimal("224.5") * 180
    assert abs(after.equity - before.equity) < before.equity * Decimal("0.01")


def test_without_a_position_the_action_is_only_reported() -> None:
    config = _config(DAILY / "tech_300750.csv", end=date(2023, 6, 30))
    result = simulate(config, load(config), [Script({})])
    assert not result.trades
    assert any(a.date == date(2023, 4, 26) and not a.applied for a in result.corporate_actions)


def test_adj_factors_forward_adjust_and_remove_the_gap(tmp_path: Path) -> None:
    factors = tmp_path / "adj_factor.csv"
    factors.write_text(
        "ts_code,trade_date,adj_factor\n300750.SZ,20230103,1.0\n300750.SZ,20230426,1.8\n"
    )
    config = _config(
        DAILY / "tech_300750.csv", start=date(2023, 4, 17), end=date(2023, 5, 10),
        adj_factors=factors,
    )  # fmt: skip
    data = load(config)
    assert data.adjustment["sz300750"] == "qfq"
    closes = data.columns["close"][:, 0]
    assert closes[0] == pytest.approx(float(load(_config(DAILY / "tech_300750.csv")).select(
        start=date(2023, 4, 17)).columns["close"][0, 0]) / 1.8)  # fmt: skip
    result = simulate(config, data, [Script({})])
    assert result.corporate_actions == []


def test_a_buy_into_a_limit_up_open_does_not_fill() -> None:
    # 000001 opened at its limit up 13.43 on 2024-10-08 (previous close 12.21): open == high
    config = _config(DAILY / "bank_000001.csv", start=date(2024, 9, 20), end=date(2024, 10, 15))
    plan = {date(2024, 9, 30): [("sz000001", "buy", 100)]}
    result = simulate(config, load(config), [Script(plan)])
    assert result.trades == []
    assert [(r.date, r.rule) for r in result.refusals] == [(date(2024, 10, 8), "limit_up")]
    none = config.model_copy(update={"rules": Rules.NONE})
    result = simulate(none, load(none), [Script(plan)])
    assert [(t.date, t.price) for t in result.trades] == [(date(2024, 10, 8), Decimal("13.43"))]


def test_lots_and_fees_under_ashare_rules() -> None:
    config = _config(DAILY / "bank_000001.csv", start=date(2024, 3, 1), end=date(2024, 3, 29))
    plan = {
        date(2024, 3, 4): [("sz000001", "buy", 150)],
        date(2024, 3, 5): [("sz000001", "buy", 200)],
    }
    result = simulate(config, load(config), [Script(plan)])
    assert [r.rule for r in result.refusals] == ["lot"]
    (trade,) = result.trades
    assert trade.quantity == 200 and trade.fee == Decimal("5.00") + (
        trade.price * 200 * Decimal("0.00001")
    ).quantize(Decimal("0.01"))
    none = config.model_copy(update={"rules": Rules.NONE, "commission": Decimal("0.001")})
    result = simulate(none, load(none), [Script(plan)])
    assert [t.quantity for t in result.trades] == [150, 200]
    assert result.trades[0].fee == result.trades[0].price * 150 * Decimal("0.001")


def test_t_plus_1_on_15_minute_bars() -> None:
    config = BacktestConfig(
        strategies=(StrategyRun(name="ma_cross"),), data=(MINUTE / "600519.csv",),
        start=date(2025, 1, 2), end=date(2025, 1, 3), cash=Decimal("10000000"),
    )  # fmt: skip
    data = load(config)
    assert data.intraday

    class Intraday(Script):
        def evaluate(self, context: StrategyContext) -> list[Signal]:
            moment = context.now
            assert context.market is not None
            quote = context.market.quote("sh600519")
            assert quote is not None
            key = (moment.date(), moment.hour, moment.minute)
            side = {(date(2025, 1, 2), 9, 45): Side.BUY, (date(2025, 1, 2), 10, 30): Side.SELL,
                    (date(2025, 1, 3), 9, 45): Side.SELL}.get(key)  # fmt: skip
            if side is None:
                return []
            return [
                Signal(
                    symbol=quote.symbol, side=side, quantity=100, price=None, reason="测试 (test)"
                )
            ]

    result = simulate(config, data, [Intraday({})])
    assert [(t.date, t.side) for t in result.trades] == [
        (date(2025, 1, 2), "buy"), (date(2025, 1, 3), "sell"),
    ]  # fmt: skip
    (refusal,) = result.refusals
    assert refusal.date == date(2025, 1, 2) and refusal.side == "sell"
    assert refusal.rule in {"available", "t_plus_1"}
    assert len(result.equity) == 2


def test_a_strategy_cannot_read_the_next_bar() -> None:
    seen: list[tuple[date, date, int]] = []

    class Peek:
        name = "peek"

        def evaluate(self, context: StrategyContext) -> list[Signal]:
            bars = context.daily_bars["sz000001"]
            if len(bars):
                seen.append((context.now.date(), bars[-1].end.date(), len(bars)))
            with pytest.raises(IndexError, match="has not closed"):
                bars[len(bars)]  # the bar of today or later
            assert context.market is not None
            assert (context.market.bar_day < context.now.date().toordinal()).all()
            return []

    config = _config(DAILY / "bank_000001.csv", start=date(2024, 1, 2), end=date(2024, 2, 29))
    simulate(config, load(config), [Peek()])
    assert len(seen) > 30
    assert all(last < today for today, last, _ in seen)


def test_cancel_and_progress() -> None:
    config = _config(DAILY / "bank_000001.csv")
    calls: list[tuple[int, int]] = []
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if done == 10:
            cancel.set()

    with pytest.raises(BacktestCancelled):
        run_backtest(config, progress=progress, cancel=cancel)
    assert calls[-1][0] == 10 and calls[0] == (1, calls[0][1])


def test_result_shape() -> None:
    config = _config(
        DAILY / "bank_000001.csv", DAILY / "bank_002142.csv", benchmark="buy_and_hold",
        fill=FillModel.NEXT_CLOSE, start=date(2023, 1, 1), end=date(2023, 12, 31),
    )  # fmt: skip
    result = run_backtest(config)
    assert len(result.equity) == 242 and result.metrics == {}
    assert result.benchmark[0][1] == config.cash and len(result.benchmark) == 242
    assert set(result.prices) == {t.code for t in result.trades}
    assert result.final_equity == result.equity[-1].equity.quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"data": (Path("../shared/data/daily/nowhere.csv"),)}, "nowhere.csv"),
        ({"codes": ("sh600519",)}, "sh600519"),
        ({"start": date(2030, 1, 1)}, "2030-01-01"),
        ({"strategies": (StrategyRun(name="nope"),)}, "nope"),
        ({"benchmark": "sh600519"}, "sh600519"),
        ({"strategies": (StrategyRun(name="ma_cross", params={"fast": "x"}),)}, "fast"),
    ],
)
def test_bad_input_names_what_is_wrong(change: dict[str, object], words: str) -> None:
    config = _config(DAILY / "bank_000001.csv").model_copy(update=change)
    with pytest.raises(BacktestInputError, match=words):
        run_backtest(config)


def test_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "600000.csv"
    bad.write_text("these,are,not\nbars,at,all\n")
    with pytest.raises(BacktestInputError, match=r"600000\.csv"):
        run_backtest(_config(bad))


def test_forward_adjusted_prices_are_flagged() -> None:
    qfq = Path(
        "../shared/data/daily/UFund-Me_Qbot/docs/tutorials_code/08.harami_in_A_market/"
        "thoudsand_stocks/000001.SZ.csv"
    )
    result = run_backtest(_config(qfq, DAILY / "bank_002142.csv", start=date(2020, 1, 2)))
    assert any("forward-adjusted prices: sz000001" in warning for warning in result.warnings)


def test_the_daily_loss_limit_trips_and_the_account_resumes_the_next_day() -> None:
    """2025-04-07: the 15-minute bars fall about 10% across these stocks; eight positions of
    about 9.5% of equity each lose past the 5% daily limit: the account only reduces that
    day (a buy is refused) and is resumed the next morning (a buy fills)."""
    folder = MINUTE
    codes = ["sh601618", "sh601012", "sh600109", "sh600219", "sh601818", "sh600031",
             "sh601882", "sh600362"]  # fmt: skip
    config = BacktestConfig(
        strategies=(StrategyRun(name="ma_cross"),),
        data=tuple(folder / f"{code[2:]}.csv" for code in [*codes, "sh600519"]),
        cash=Decimal("2000000"),
        start=date(2025, 4, 2), end=date(2025, 4, 9),
    )  # fmt: skip

    class Plan:
        name = "plan"

        def evaluate(self, context: StrategyContext) -> list[Signal]:
            moment = context.now
            assert context.market is not None
            key = (moment.date(), moment.hour, moment.minute)
            wanted: list[str] = []
            if key == (date(2025, 4, 3), 10, 0):
                wanted = codes
            elif key in {(date(2025, 4, 7), 14, 0), (date(2025, 4, 8), 10, 0)}:
                wanted = ["sh600519"]  # not held
            signals = []
            for code in wanted:
                quote = context.market.quote(code)
                assert quote is not None
                lots = int(Decimal("190000") / quote.last) // 100
                signals.append(Signal(symbol=quote.symbol, side=Side.BUY, quantity=lots * 100,
                                      price=None, reason="测试 (test)"))  # fmt: skip
            return signals

    result = simulate(config, load(config), [Plan()])
    buys = [(t.date, t.code) for t in result.trades]
    assert len([b for b in buys if b[0] == date(2025, 4, 3)]) == len(codes)
    assert (date(2025, 4, 8), "sh600519") in buys and (date(2025, 4, 7), "sh600519") not in buys
    (refused,) = [r for r in result.refusals if r.date == date(2025, 4, 7)]
    assert refused.code == "sh600519" and refused.rule == "daily_loss"
    assert any("daily loss limit tripped on 1 days" in warning for warning in result.warnings)


def test_the_default_filter_trades_files_without_amount() -> None:
    # The liquidity filter reads the estimated amount: ma_cross with its defaults trades.
    config = _config(DAILY / "bank_000001.csv")
    assert run_backtest(config).trades
