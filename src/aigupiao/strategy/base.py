"""The Strategy interface.

A strategy reads market and portfolio state through a read-only
:class:`StrategyContext` and returns :class:`Signal` objects. It never calls a
broker: the agent turns signals into decisions, puts each through the risk
gate, and only accepted decisions become commands.

**The contract** (what the agent runner relies on, built-in or user strategy):

* ``name`` (str, unique per account) and ``evaluate(context) -> list[Signal]``; that
  is the whole :class:`Strategy` protocol. ``evaluate`` is called every
  ``decision_interval`` seconds and on bar closes, on the event loop: it must not
  block or do I/O, and it must not change the context.
* Exceptions are *not* caught inside a strategy: they propagate to the runner, which
  catches them per strategy, logs them with the strategy's name and goes on.
* Optional: ``remember(day, codes)`` restores which symbols were already proposed
  today (after a restart); ``config`` (a :class:`StrategyConfig`) and
  ``configure(**changes)`` for per-account settings (see :class:`BuiltinStrategy`).

A signal carries a quantity in shares *or* a target weight (a fraction of the
account's equity the position should reach; the runner sizes it with
:func:`shares_for_weight`), a limit price on the tick or None for a market order, a
confidence in [0, 1], a reason (Chinese first, English in parentheses) and the
indicator values that drove it (``inputs``, stored with the decision).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.rules import MARKET_ORDER_MAXIMUM
from aigupiao.domain.symbols import Symbol, lot_rule

from .series import SeriesKey
from .state import MarketState

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Signal:
    """What a strategy proposes for one symbol. Invalid values raise ``ValueError``."""

    symbol: Symbol
    side: Side
    quantity: int  # shares; 0 when ``target_weight`` sizes the order
    price: Decimal | None  # a limit price on the tick; None = market
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    target_weight: Decimal | None = None  # fraction of equity the position should reach

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):
            raise ValueError(f"side must be a Side, not {self.side!r}")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise ValueError(f"quantity must be an int, not {self.quantity!r}")
        if self.target_weight is None:
            if self.quantity <= 0:
                raise ValueError(f"quantity must be positive, not {self.quantity}")
        else:
            if not isinstance(self.target_weight, Decimal) or not 0 <= self.target_weight <= 1:
                raise ValueError(
                    f"target_weight must be a Decimal in [0, 1]: {self.target_weight!r}"
                )
            if self.quantity != 0:
                raise ValueError("give a quantity or a target_weight, not both")
        if self.price is not None:
            if not isinstance(self.price, Decimal) or not self.price > 0:
                raise ValueError(f"price must be a positive Decimal or None: {self.price!r}")
            if self.price % self.symbol.tick != 0:
                raise ValueError(f"price {self.price} is not on the tick {self.symbol.tick}")
        confidence = self.confidence
        if not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], not {confidence!r}")
        if not isinstance(self.reason, str) or not self.reason:
            raise ValueError("a signal needs a reason")

    @property
    def action(self) -> str:
        """``buy`` or ``sell``."""
        return self.side.value

    @property
    def code(self) -> str:
        """The prefixed code, e.g. ``sh600519``."""
        return self.symbol.full


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may look at. Mappings are read-only; ``market`` is shared by
    every strategy of the tick and must only be read (see :mod:`.state`)."""

    now: datetime
    quotes: Mapping[str, Quote]  # by full code, e.g. "sh600519"
    account: Account | None
    market: MarketState | None = None  # quotes, daily bars and indicators as arrays
    # completed daily bars, oldest first, and today's 1-minute bars, where the runner has them
    daily_bars: Mapping[str, Sequence[Bar]] = field(default_factory=lambda: _EMPTY)
    minute_bars: Mapping[str, Sequence[Bar]] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if isinstance(self.quotes, dict):
            object.__setattr__(self, "quotes", MappingProxyType(self.quotes))

    @property
    def positions(self) -> tuple[Position, ...]:
        return () if self.account is None else self.account.positions

    def position(self, code: str) -> Position | None:
        return next((p for p in self.positions if p.symbol.full == code), None)


class OncePerDay:
    """Remembers which symbols a strategy has proposed today; forgets at the next trading date."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._codes: set[str] = set()

    def remember(self, day: date, codes: set[str]) -> None:
        """Restore the symbols already proposed on ``day`` (after a restart)."""
        self._day, self._codes = day, set(codes)

    def start(self, today: date) -> None:
        if today != self._day:
            self._day, self._codes = today, set()

    def seen(self, code: str) -> bool:
        return code in self._codes

    def add(self, code: str) -> None:
        self._codes.add(code)


class Strategy(Protocol):
    @property
    def name(self) -> str: ...

    def evaluate(self, context: StrategyContext) -> list[Signal]: ...


class StrategyConfig(BaseModel):
    """Base of every strategy's settings: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


C = TypeVar("C", bound=StrategyConfig)


class BuiltinStrategy(ABC, Generic[C]):
    """A strategy with a typed config; its class docstring is its documented rule.

    Subclasses set ``name``, ``title`` (Chinese first, English in parentheses) and
    ``config_type``. ``remember`` and a once-per-symbol-per-day memory come with it.
    Without a shared :class:`MarketState` in the context (an older runner), each
    strategy keeps its own, fed from ``context.quotes``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    config_type: ClassVar[type[StrategyConfig]]

    def __init__(self, config: C | None = None) -> None:
        self.config: C = config if config is not None else self.config_type()  # type: ignore[assignment]
        self.proposed = OncePerDay()
        self._own_market: MarketState | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | StrategyConfig | None = None) -> Self:
        """Build from a config object or a plain mapping (validated; bad values raise
        ``pydantic.ValidationError``)."""
        if config is None or isinstance(config, StrategyConfig):
            return cls(config=config)  # type: ignore[arg-type]
        return cls(config=cls.config_type.model_validate(config))  # type: ignore[arg-type]

    @classmethod
    def rule(cls) -> str:
        """The documented rule (the class docstring)."""
        return inspect.getdoc(cls) or ""

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """JSON schema of the config (for the API and the dashboard)."""
        return cls.config_type.model_json_schema()

    def configure(self, **changes: Any) -> None:
        """Replace the given settings (validated; on error nothing changes)."""
        merged = {**self.config.model_dump(), **changes}
        self.config = self.config_type.model_validate(merged)  # type: ignore[assignment]

    def remember(self, day: date, codes: set[str]) -> None:
        self.proposed.remember(day, codes)

    def series_needed(self) -> list[SeriesKey]:
        """The daily indicators this strategy reads with its current config."""
        return []

    def prepare(self, market: MarketState) -> None:
        """Register the indicators this strategy needs, so the first evaluation does not
        build them (call when the strategy is created or configured, ideally before
        ``load_history``: registering later replays the kept bars)."""
        for key in self.series_needed():
            market.series(key.kind, key.period, key.field)

    def market(self, context: StrategyContext) -> MarketState:
        """The shared market state, or this strategy's own fed from ``context.quotes``."""
        if context.market is not None:
            return context.market
        if self._own_market is None:
            self._own_market = MarketState()
        self._own_market.on_quotes(list(context.quotes.values()))
        return self._own_market

    @abstractmethod
    def evaluate(self, context: StrategyContext) -> list[Signal]: ...


# -- helpers -------------------------------------------------------------------------------


def decimal_price(value: float, tick: Decimal) -> Decimal:
    """A float price (from indicator maths) as a Decimal on ``tick``, rounded half up:
    the form a signal's limit price must take."""
    steps = (Decimal(repr(value)) / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return steps * tick


def order_price(quote: Quote, mode: str, offset_ticks: int = 0) -> Decimal | None:
    """The price to send: None for ``market``; for ``last``, the last price moved by
    ``offset_ticks`` ticks and kept inside the day's price limits."""
    if mode == "market":
        return None
    tick = quote.symbol.tick
    price = quote.last + offset_ticks * tick
    if quote.limit_up is not None:
        price = min(price, quote.limit_up)
    if quote.limit_down is not None:
        price = max(price, quote.limit_down)
    return max(price, tick)


def largest_buy(symbol: Symbol, *, market: bool) -> int:
    """The most shares one buy may carry on the symbol's board (a market order's
    maximum is lower on STAR and ChiNext)."""
    most = lot_rule(symbol).maximum
    market_most = MARKET_ORDER_MAXIMUM.get(symbol.board)
    return min(most, market_most) if market and market_most is not None else most


def buy_size(symbol: Symbol, shares: int, *, market: bool = False) -> int:
    """``shares`` as a buy the symbol's board takes: down to the board's step, but at
    least its minimum (200 on STAR, 100 elsewhere) and at most one order's maximum.
    100 shares of a STAR stock are a 200-share buy; 250 stay 250 there, and are 200 on
    the main board."""
    rule = lot_rule(symbol)
    if shares <= rule.minimum:
        return rule.minimum
    steps = (shares - rule.minimum) // rule.step
    return min(rule.minimum + steps * rule.step, largest_buy(symbol, market=market))


def shares_for_weight(
    symbol: Symbol,
    weight: Decimal,
    account: Account,
    price: Decimal,
    *,
    side: Side,
    market: bool = False,
) -> int:
    """Shares to buy (or sell) so the position in ``symbol`` comes to ``weight`` of the
    account's equity at ``price``: buys in sizes the board takes (its lot rule, and at
    most one order's maximum, lower for a ``market`` order on STAR and ChiNext), sells
    down to the target in sizes the board takes (a remainder below one lot only when
    selling all that is available); 0 when nothing is to be done."""
    if price <= 0:
        raise ValueError("price must be positive")
    position = account.position(symbol)
    held = position.total if position is not None else 0
    available = position.available if position is not None else 0
    target = account.equity * weight / price
    rule = lot_rule(symbol)
    if side is Side.BUY:
        wanted = int((target - held).to_integral_value(rounding=ROUND_FLOOR))
        if wanted < rule.minimum:
            return 0
        return buy_size(symbol, wanted, market=market)
    if weight == 0:
        return available
    surplus = int((held - target).to_integral_value(rounding=ROUND_FLOOR))
    wanted = min(surplus, available)
    if wanted <= 0:
        return 0
    if wanted == available:  # all that is available, odd lot and all
        return available
    if wanted < rule.minimum:
        return 0
    return rule.minimum + (wanted - rule.minimum) // rule.step * rule.step


def signal_shares(signal: Signal, account: Account | None, quote: Quote | None) -> int | None:
    """The shares a signal asks for now, as the agent sizes it: its quantity, or for a
    target weight the shares that bring the position there at its limit price (else the
    quote's last); None when it cannot be sized (no account or price) or the position is
    already at the weight."""
    if signal.target_weight is None:
        return signal.quantity
    price = signal.price or (quote.last if quote is not None else None)
    if account is None or price is None:
        return None
    shares = shares_for_weight(
        signal.symbol,
        signal.target_weight,
        account,
        price,
        side=signal.side,
        market=signal.price is None,
    )
    return shares if shares > 0 else None


def rounded(value: float, places: int = 4) -> str:
    """An indicator value for ``inputs`` (a string, as Decimal values are stored)."""
    return f"{value:.{places}f}"
