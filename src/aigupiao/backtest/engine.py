"""The backtest engine: the live strategies, risk gate and paper-broker rules on history.

:func:`run_backtest` moves a simulated clock over the bars step by step (a day for daily
bars, a bar for intraday ones). At each step, in this order:

1. corporate actions of the step's securities adjust the positions held across them
   (:mod:`.actions`);
2. the orders placed at the previous step fill on this step's bar (``fill``: its open,
   close or vwap), under the rules chosen (:mod:`.fills`);
3. the market shows the bar's close as the live quote (completed daily bars are those
   before today: the strategies' "yesterday versus today's price" reads exactly as it
   does live) and every strategy is evaluated; each signal is sized (``size``, the
   signal's quantity, or its target weight) and, under ``rules=ashare``, judged by the
   risk gate as the agent's pipeline does; an accepted one becomes an order for the
   next step;
4. at a day's last step, an :class:`~.model.EquityPoint` is written.

``rules=none`` is backtrader's model: fill at the next bar whatever its price, no lots,
no limits, no T+1, commission = rate x value (at least the minimum), the order waits
for the code's next bar. ``rules=ashare`` adds everything the paper broker enforces:
the gate's checks (lots, T+1 available shares, price limits, cash, position size, number
of positions, order rate), and at the fill: a buy into a sealed limit up or a sell into a
sealed limit down does not fill, the quantity is bounded by the bar's volume, fees are
the paper broker's schedule, and an order lives for one trading day.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
from pydantic import ValidationError

from aigupiao.brokers.paper.fees import FeeSchedule
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.securities import facts_for
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, lot_rule
from aigupiao.risk.gate import RiskGate
from aigupiao.risk.state import SOURCE_DAILY_LOSS, StateRecord
from aigupiao.strategy.base import Strategy, StrategyContext, shares_for_weight
from aigupiao.strategy.registry import UnknownStrategy, create

from . import data as data_module
from .actions import detect_actions, snap_ratio
from .data import MarketData
from .fills import lots, sealed
from .market import BarsView, SimMarket, price
from .model import (
    BacktestCancelled,
    BacktestConfig,
    BacktestInputError,
    BacktestResult,
    CorporateAction,
    EquityPoint,
    FillModel,
    ProgressFn,
    Refusal,
    Rules,
    TradeRecord,
)
from .outputs import adjustment_notes, benchmark, benchmark_slot, closes
from .timeline import Timeline, to_time

ACCOUNT_ID = "backtest"
ZERO = Decimal(0)
CENT = Decimal("0.01")
OPEN_TIME = time(9, 30)
_VALUE_DIGITS = 4  # positions are valued in 1/10,000 CNY (exact for prices of up to 4 places)
_VALUE_SCALE = 10.0**_VALUE_DIGITS
# The parity strategy: backtrader's moving-average cross sample (fast 10, slow 30) with the
# stock filter off, so that only the cross decides (as in backtrader's sample).
PARITY_PARAMS: dict[str, Any] = {
    "fast": 10,
    "slow": 30,
    "filter": {
        "exclude_st": False, "exclude_suspended": False, "exclude_limit_up": False,
        "exclude_limit_down": False, "new_listing_days": 0, "allow_bse": True,
        "min_price": "0", "min_avg_amount": "0",
    },
}  # fmt: skip


def run_backtest(
    config: BacktestConfig,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    data: MarketData | None = None,
) -> BacktestResult:
    """Run ``config`` and return its result (``metrics`` left empty for :mod:`.metrics`).

    Args:
        progress: called with (steps done, steps) once per simulated day.
        cancel: when set, the run stops at the next day with :class:`BacktestCancelled`.
        data: bars already loaded (:func:`.data.load_paths`, the database's bars); the
            config's codes and date range still apply.

    Raises:
        BacktestInputError: unreadable data, a code with no data, an empty range, an
            unknown strategy or a bad parameter.
        BacktestCancelled: ``cancel`` was set.
    """
    started = clock.perf_counter()
    strategies = build_strategies(config)
    if data is None:
        if config.database_bars and not config.data:
            raise BacktestInputError(
                "使用数据库行情时请先用 data.load_database_bars 读取并传入 data",
                "with the database's bars, load them with data.load_database_bars and pass data",
            )
        market_data = data_module.load(config)
    else:
        market_data = data.select(config.codes, config.start, config.end)
    return simulate(
        config, market_data, strategies, progress=progress, cancel=cancel, started=started
    )


def build_strategies(config: BacktestConfig) -> list[Strategy]:
    """The registry's strategies the config names, with their parameters.

    Raises:
        BacktestInputError: an unknown strategy, or parameters its config refuses.
    """
    built: list[Strategy] = []
    for run in config.strategies:
        try:
            built.append(create(run.name, dict(run.params)))
        except UnknownStrategy as exc:
            raise BacktestInputError(
                f"没有名为 {run.name} 的策略", f"no strategy named {run.name}"
            ) from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise BacktestInputError(
                f"策略 {run.name} 的参数无效：{problems}",
                f"bad parameters for strategy {run.name}: {problems}",
            ) from exc
    return built


@dataclass(slots=True)
class _Holding:
    symbol: Symbol
    shares: int
    cost: Decimal  # total cost, fees included
    bought_day: date | None = None
    bought_today: int = 0
    t_plus_zero: bool = False

    def available(self, day: date, t_plus_1: bool) -> int:
        if not t_plus_1 or self.t_plus_zero or self.bought_day != day:
            return self.shares
        return self.shares - self.bought_today


@dataclass(slots=True)
class _Order:
    slot: int
    symbol: Symbol
    side: Side
    quantity: int
    limit: Decimal | None
    strategy: str
    reason: str
    day: date  # the trading day it is for (ashare: it lapses after it)


class Simulation:
    """One run's state; :func:`simulate` drives it."""

    def __init__(
        self, config: BacktestConfig, data: MarketData, strategies: Sequence[Strategy]
    ) -> None:
        self.config = config
        self.data = data
        self.ashare = config.rules is Rules.ASHARE
        self.timeline = Timeline(data, limits=self.ashare)
        self.market = SimMarket(self.timeline)
        self.strategies = list(strategies)
        for strategy in self.strategies:
            prepare = getattr(strategy, "prepare", None)
            if prepare is not None:
                prepare(self.market)
        self.cash = config.cash
        self.holdings: dict[int, _Holding] = {}
        self.orders: list[_Order] = []
        self.trades: list[TradeRecord] = []
        self.refusals: list[Refusal] = []
        self.equity: list[EquityPoint] = []
        self.gate = RiskGate() if self.ashare else None
        self.daily_loss_days = 0
        self.fees = FeeSchedule()
        if config.commission is not None:
            self.fees = FeeSchedule(
                commission_rate=config.commission,
                commission_minimum=(
                    config.min_commission if config.min_commission is not None else ZERO
                ),
            )
        self.actions = detect_actions(self.timeline)
        self.action_records: list[CorporateAction] = []
        self._applied: set[tuple[int, int]] = set()  # (day, slot) of adjusted positions
        self.traded: set[int] = set()
        self.bars_view = BarsView(self.market)
        self._dates = [date.fromordinal(o) for o in self.timeline.day_ordinals.tolist()]
        self._day_of_step: list[int] = self.timeline.day_index.tolist()
        self._closes = np.round(self.timeline.last * _VALUE_SCALE)  # exact to 1/100 cent
        self._last_prices: dict[float, Decimal] = {}
        self._times: dict[int, datetime] = {}

    # -- the loop --------------------------------------------------------------------------

    def run(
        self, progress: ProgressFn | None = None, cancel: threading.Event | None = None
    ) -> None:
        tl = self.timeline
        days = len(tl.day_ordinals)
        for step in range(tl.steps):
            day_number = int(tl.day_index[step])
            first_of_day = step == 0 or int(tl.day_index[step - 1]) != day_number
            if first_of_day:
                if cancel is not None and cancel.is_set():
                    raise BacktestCancelled("回测已取消 (the backtest was cancelled)")
                if self.ashare:  # backtrader's model knows no corporate actions
                    self._corporate_actions(day_number)
                    self._resume_after_daily_loss()
                    self._start_day(step)
            self._fill(step)
            self.market.move_to(step)
            if step + 1 < tl.steps:
                self._decide(step)
            if step == int(tl.last_step_of_day[day_number]):
                self._mark(step)
                if progress is not None:
                    progress(day_number + 1, days)
        self._record_actions()

    def _today(self, step: int) -> date:
        return self._dates[self._day_of_step[step]]

    def _resume_after_daily_loss(self) -> None:
        """The daily loss limit turns the account to REDUCING for the rest of the day; live,
        a person resumes it (``aigupiao resume``). The backtest resumes it the next morning
        and counts the days it tripped (a warning of the result)."""
        assert self.gate is not None
        record = self.gate.account_states.get(ACCOUNT_ID)
        if record is not None and record.source == SOURCE_DAILY_LOSS:
            self.gate.set_state(ACCOUNT_ID, StateRecord())
            self.daily_loss_days += 1

    def _start_day(self, step: int) -> None:
        """Show the gate the account at the previous close before the day's first bar, so
        the day's starting equity (the daily loss limit's base) is last night's, not the
        value after the opening gap."""
        assert self.gate is not None
        if step == 0:
            return
        account = self._account(step - 1)
        held = {
            p.symbol.full: q for p in account.positions if (q := self.market.quote(p.symbol.full))
        }
        morning = datetime.combine(self._today(step), time(9, 15), BEIJING)
        self.gate.observe(ACCOUNT_ID, account, held, morning)

    # -- corporate actions ---------------------------------------------------------------

    def _corporate_actions(self, day_number: int) -> None:
        for slot in self.actions.get(day_number, ()):
            holding = self.holdings.get(slot)
            if holding is None:
                continue
            ratio = self.actions_ratio(day_number, slot)
            holding.shares = int(
                (Decimal(holding.shares) * ratio).to_integral_value(rounding=ROUND_FLOOR)
            )
            holding.bought_today = min(holding.bought_today, holding.shares)
            self._applied.add((day_number, slot))

    def actions_ratio(self, day_number: int, slot: int) -> Decimal:
        tl = self.timeline
        previous = float(tl.previous_close_by_day[day_number, slot])
        opened = float(tl.daily["open"][day_number, slot])
        return snap_ratio(previous, opened, float(tl.limit_pct[day_number, slot]))

    def _record_actions(self) -> None:
        tl = self.timeline
        for day_number in sorted(self.actions):
            for slot in self.actions[day_number]:
                symbol = self.data.symbols[slot]
                self.action_records.append(
                    CorporateAction(
                        code=symbol.full,
                        date=date.fromordinal(int(tl.day_ordinals[day_number])),
                        previous_close=price(tl.previous_close_by_day[day_number, slot], CENT),
                        open=price(tl.daily["open"][day_number, slot], CENT),
                        ratio=self.actions_ratio(day_number, slot),
                        applied=(day_number, slot) in self._applied,
                    )
                )

    # -- fills ---------------------------------------------------------------------------

    def _fill(self, step: int) -> None:
        if not self.orders:
            return
        tl = self.timeline
        today = self._today(step)
        waiting: list[_Order] = []
        for order in self.orders:
            if not tl.present[step, order.slot]:
                if self.ashare and today > order.day:
                    self._refuse(today, order, "suspended")
                else:
                    waiting.append(order)
                continue
            if self.ashare and today > order.day:
                self._refuse(today, order, "expired")
                continue
            self._fill_one(step, today, order)
        self.orders = waiting

    def _fill_one(self, step: int, today: date, order: _Order) -> None:
        tl = self.timeline
        columns = self.data.columns
        slot, symbol = order.slot, order.symbol
        o, h, low, c = (columns[n][step, slot] for n in ("open", "high", "low", "close"))
        volume, amount = columns["volume"][step, slot], columns["amount"][step, slot]
        model = self.config.fill
        if model is FillModel.NEXT_OPEN:
            at = o
        elif model is FillModel.NEXT_CLOSE:
            at = c
        else:
            at = amount / volume if volume > 0 and amount > 0 else o
        buy = order.side is Side.BUY
        if self.ashare:
            day = int(tl.day_index[step])
            up, down = tl.limit_up[day, slot], tl.limit_down[day, slot]
            refused = sealed(buy, model, (o, h, low, c), up, down, float(symbol.tick))
            if refused is not None:
                self._refuse(today, order, refused)
                return
            fill_price = price(at, symbol.tick)
        else:
            fill_price = Decimal(repr(float(at)))
        if order.limit is not None:
            reachable = low <= float(order.limit) if buy else h >= float(order.limit)
            if not reachable:
                self._refuse(today, order, "price_not_reached")
                return
            if (buy and fill_price > order.limit) or (not buy and fill_price < order.limit):
                fill_price = order.limit
        quantity = order.quantity
        holding = self.holdings.get(slot)
        if self.ashare:
            rule = lot_rule(symbol)
            if quantity > volume:  # the bar's volume bounds what could have traded
                quantity = lots(int(volume), rule.minimum, rule.step)
                if quantity <= 0:
                    self._refuse(today, order, "volume")
                    return
        if buy:
            quantity = self._affordable(symbol, quantity, fill_price, today)
            if quantity <= 0:
                self._refuse(today, order, "cash")
                return
            gross = fill_price * quantity
            fee = self._fee(symbol, Side.BUY, gross, today)
            self.cash -= gross + fee
            if holding is None:
                holding = self.holdings[slot] = _Holding(
                    symbol, 0, ZERO, t_plus_zero=facts_for(symbol).t_plus_zero
                )
            if holding.bought_day != today:
                holding.bought_day, holding.bought_today = today, 0
            holding.shares += quantity
            holding.bought_today += quantity
            holding.cost += gross + fee
        else:
            if holding is None:
                self._refuse(today, order, "available")
                return
            available = holding.available(today, self.ashare)
            quantity = min(quantity, available)
            if quantity <= 0:
                self._refuse(today, order, "t_plus_1")
                return
            gross = fill_price * quantity
            fee = self._fee(symbol, Side.SELL, gross, today)
            self.cash += gross - fee
            holding.cost -= holding.cost * quantity / holding.shares
            holding.shares -= quantity
            if holding.shares == 0:
                del self.holdings[slot]
        self.traded.add(slot)
        self.trades.append(
            TradeRecord(
                date=today, code=symbol.full, side=order.side.value, price=fill_price,
                quantity=quantity, fee=fee, strategy=order.strategy, reason=order.reason,
            )
        )  # fmt: skip

    def _affordable(self, symbol: Symbol, quantity: int, fill_price: Decimal, day: date) -> int:
        cash = self.cash
        gross = fill_price * quantity
        if gross + self._fee(symbol, Side.BUY, gross, day) <= cash:
            return quantity
        if not self.ashare:
            return 0  # backtrader refuses the order (Margin)
        rule = lot_rule(symbol)
        most = int((cash / (fill_price * (1 + Decimal("0.001")))).to_integral_value(ROUND_FLOOR))
        most = lots(min(most, quantity), rule.minimum, rule.step)
        while most > 0:
            gross = fill_price * most
            if gross + self._fee(symbol, Side.BUY, gross, day) <= cash:
                return most
            most = lots(most - rule.step, rule.minimum, rule.step)
        return 0

    def _fee(self, symbol: Symbol, side: Side, gross: Decimal, day: date) -> Decimal:
        if self.ashare:
            return self.fees.fees(symbol, side, gross, day).total
        rate = self.config.commission or ZERO
        minimum = self.config.min_commission or ZERO
        return max(gross * rate, minimum) if gross > 0 else ZERO

    # -- decisions -------------------------------------------------------------------------

    def _account(self, step: int) -> Account:
        today = self._today(step)
        last = self.timeline.last[step]
        positions = []
        decimals = self._last_prices
        for slot, holding in self.holdings.items():
            if holding.shares <= 0:
                continue
            close = float(last[slot])
            last_price = None
            if close == close:  # not nan
                last_price = decimals.get(close)
                if last_price is None:
                    last_price = decimals[close] = Decimal(repr(close))
            positions.append(
                Position(
                    symbol=holding.symbol,
                    total=holding.shares,
                    available=holding.available(today, self.ashare),
                    cost_price=holding.cost / holding.shares,
                    last_price=last_price,
                )
            )
        return Account(ACCOUNT_ID, cash=self.cash, positions=tuple(positions))

    def _decide(self, step: int) -> None:
        market = self.market
        now = self._times.get(step)
        if now is None:
            now = self._times[step] = to_time(int(self.data.stamps[step]))
        account = self._account(step)
        context = StrategyContext(
            now=now, quotes=market.quotes, account=account, market=market,
            daily_bars=self.bars_view,
        )  # fmt: skip
        fill_step = step + 1
        fill_day = self._today(fill_step)
        gate_now = self._gate_time(fill_step)
        held: dict[str, Quote] = {}
        if self.gate is not None:
            held = {
                p.symbol.full: q for p in account.positions if (q := market.quote(p.symbol.full))
            }
            self.gate.observe(ACCOUNT_ID, account, held, now)
        for strategy in self.strategies:
            for signal in strategy.evaluate(context):
                slot = market.slot(signal.code)
                quote = None if slot is None else market.quote_at(slot)
                if slot is None or quote is None:
                    continue
                side = signal.side
                quantity = self._size(signal, account, quote)
                if quantity <= 0:
                    self._refusal(fill_day, signal.code, side, "size", strategy.name)
                    continue
                if self.gate is not None:
                    verdict = self.gate.check(
                        side=side, quantity=quantity, price=signal.price, quote=quote,
                        account=account, now=gate_now, account_id=ACCOUNT_ID,
                        quotes={**held, signal.code: quote},
                    )  # fmt: skip
                    if not verdict.accepted:
                        self._refusal(
                            fill_day, signal.code, side, verdict.rule or "risk", strategy.name
                        )
                        continue
                    if side is Side.BUY:  # what this order holds back for the next ones
                        worst = quote.limit_up if quote.limit_up is not None else quote.last
                        reserved = worst * quantity
                        reserved += self.fees.fees(quote.symbol, side, reserved, fill_day).total
                        account = Account(
                            ACCOUNT_ID,
                            account.cash - reserved,
                            account.frozen_cash + reserved,
                            account.positions,
                        )
                self.orders.append(
                    _Order(slot, quote.symbol, side, quantity, signal.price, strategy.name,
                           signal.reason, fill_day)
                )  # fmt: skip

    def _size(self, signal: Any, account: Account, quote: Quote) -> int:
        side = signal.side
        if side is Side.BUY and self.config.size is not None:
            return self.config.size
        if signal.target_weight is None:
            return int(signal.quantity)
        at = signal.price if signal.price is not None else quote.last
        if self.ashare:
            return shares_for_weight(
                quote.symbol, signal.target_weight, account, at, side=side,
                market=signal.price is None,
            )  # fmt: skip
        position = account.position(quote.symbol)
        held = position.total if position is not None else 0
        target = int((account.equity * signal.target_weight / at).to_integral_value(ROUND_FLOOR))
        return max(target - held, 0) if side is Side.BUY else max(held - target, 0)

    def _gate_time(self, fill_step: int) -> datetime:
        """When the order meets the market: the session's open for a daily bar, the
        start of the bar for an intraday one."""
        stamp = int(self.data.stamps[fill_step])
        if not self.data.intraday:
            return datetime.combine(self._today(fill_step), OPEN_TIME, BEIJING) + timedelta(
                minutes=1
            )
        previous = int(self.data.stamps[fill_step - 1])
        length = stamp - previous if stamp - previous <= 60 else 1
        return to_time(stamp - length)

    # -- books -----------------------------------------------------------------------------

    def _mark(self, step: int) -> None:
        value = ZERO
        if self.holdings:
            slots = np.fromiter(self.holdings, np.intp, len(self.holdings))
            shares = np.fromiter((h.shares for h in self.holdings.values()), np.int64, slots.size)
            closes = self._closes[step, slots]
            held = ~np.isnan(closes)
            # prices in 1/10,000 CNY are integers: an exact sum, as Decimal
            total = sum(
                int(c) * int(n)
                for c, n in zip(closes[held].tolist(), shares[held].tolist(), strict=True)
            )
            value = Decimal(total).scaleb(-_VALUE_DIGITS)
        equity = self.cash + value
        exposure = value / equity if equity > 0 else ZERO
        self.equity.append(
            EquityPoint(self._today(step), equity, self.cash, min(max(exposure, ZERO), Decimal(1)))
        )

    def _refuse(self, day: date, order: _Order, rule: str) -> None:
        self._refusal(day, order.symbol.full, order.side, rule, order.strategy)

    def _refusal(self, day: date, code: str, side: Side, rule: str, strategy: str) -> None:
        self.refusals.append(Refusal(day, code, side.value, rule, strategy))


def simulate(
    config: BacktestConfig,
    data: MarketData,
    strategies: Sequence[Strategy],
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    started: float | None = None,
) -> BacktestResult:
    """Run ``strategies`` (any objects of the Strategy protocol) over ``data``."""
    started = clock.perf_counter() if started is None else started
    benchmark_slot(config.benchmark, data)  # a benchmark not in the data fails before the run
    sim = Simulation(config, data, strategies)
    sim.run(progress, cancel)
    final = sim.equity[-1].equity if sim.equity else config.cash
    return BacktestResult(
        config=config,
        trades=sim.trades,
        equity=sim.equity,
        bars=data.bars,
        seconds=clock.perf_counter() - started,
        final_equity=final.quantize(CENT),
        refusals=sim.refusals,
        corporate_actions=sim.action_records,
        benchmark=benchmark(config.benchmark, config.cash, sim.timeline),
        prices=closes(sim.timeline, sorted(sim.traded), sim._dates, sim._last_prices),
        warnings=[*data.warnings, *adjustment_notes(data), *_daily_loss_note(sim)],
    )


def _daily_loss_note(sim: Simulation) -> list[str]:
    days = sim.daily_loss_days
    if not days:
        return []
    return [
        f"日亏损上限触发 {days} 天：当天只减仓，次日恢复"
        f" (the daily loss limit tripped on {days} days: reducing only, resumed the next day)"
    ]
