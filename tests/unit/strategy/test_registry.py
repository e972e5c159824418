"""The registry, per-account strategy sets, the Signal contract, and errors that reach
the caller."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from aigupiao.domain.account import Account, Position
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.strategy.base import (
    BuiltinStrategy,
    Signal,
    StrategyContext,
    decimal_price,
    shares_for_weight,
)
from aigupiao.strategy.registry import (
    BUILTINS,
    DEFAULT_SET,
    StrategySet,
    StrategySetting,
    UnknownStrategy,
    create,
    describe_builtins,
    schema,
)
from aigupiao.strategy.state import MarketState

from .build import MOUTAI, NOW, PINGAN, bars, context, quote


def test_every_builtin_is_registered_and_documented() -> None:
    names = {"dip_buy", "stop_loss", "momentum", "ma_cross", "rsi_reversion", "breakout", "candles",
             "llm"}  # fmt: skip
    assert set(BUILTINS) == names
    assert DEFAULT_SET == ("dip_buy", "stop_loss")
    for name, cls in BUILTINS.items():
        rule = cls.rule()
        chinese, *_, english = rule.split("\n\n")
        assert not chinese.isascii() and english.isascii(), name  # Chinese first, then English
        assert "(" in cls.title and schema(name)["type"] == "object"
    assert [d["name"] for d in describe_builtins() if d["default"]] == list(DEFAULT_SET)


def test_configs_have_defaults_and_bounds() -> None:
    for name in BUILTINS:
        create(name)  # every default is valid
    with pytest.raises(ValidationError):
        create("dip_buy", {"threshold": "0.05"})  # a rise is not a dip
    with pytest.raises(ValidationError):
        create("rsi_reversion", {"period": 1})
    with pytest.raises(ValidationError):
        create("momentum", {"min_change": 0.05, "max_change": 0.04})
    with pytest.raises(ValidationError):
        create("breakout", {"typo": 1})
    with pytest.raises(UnknownStrategy):
        create("nothing")


def test_configure_validates_and_changes_nothing_on_error() -> None:
    rule = create("ma_cross")
    rule.configure(fast=10, slow=30)
    assert (rule.config.fast, rule.config.slow) == (10, 30)
    with pytest.raises(ValidationError):
        rule.configure(fast=40)
    assert rule.config.fast == 10


def test_legacy_constructors_still_work() -> None:
    from aigupiao.strategy.dip_buy import DipBuy
    from aigupiao.strategy.stop_loss import StopLoss

    assert DipBuy(Decimal("-0.03"), 200).config.quantity == 200
    assert DipBuy().threshold == Decimal("-0.05")
    assert StopLoss(Decimal("0.1")).risk_threshold == Decimal("0.1")


def test_strategy_set_enable_pause_configure() -> None:
    strategies = StrategySet()
    assert [s.name for s in strategies.active()] == ["dip_buy", "stop_loss"]
    strategies.apply(StrategySetting(name="momentum", config={"top": 3}))
    strategies.pause("dip_buy")
    assert [s.name for s in strategies.active()] == ["stop_loss", "momentum"]
    assert strategies.is_paused("dip_buy")
    dip = strategies.get("dip_buy")
    strategies.apply(StrategySetting(name="dip_buy", config={"quantity": 300}))  # resumes too
    assert strategies.get("dip_buy") is dip  # same object: its memory of today survives
    assert isinstance(dip, BuiltinStrategy) and dip.config.quantity == 300
    strategies.apply(StrategySetting(name="stop_loss", enabled=False))
    assert [s.name for s in strategies.active()] == ["dip_buy", "momentum"]
    saved = {s.name: s for s in strategies.settings()}
    assert saved["momentum"].config["top"] == 3 and saved["dip_buy"].config["quantity"] == 300
    rebuilt = StrategySet(saved.values())
    assert [s.name for s in rebuilt.active()] == ["dip_buy", "momentum"]
    with pytest.raises(UnknownStrategy):
        strategies.pause("nothing")
    with pytest.raises(UnknownStrategy):
        strategies.apply(StrategySetting(name="nothing"))


class Broken:
    name = "broken"

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        raise RuntimeError("bug in strategy code")


def test_exceptions_reach_the_caller_one_strategy_at_a_time() -> None:
    strategies = StrategySet(user=[Broken()])
    state = MarketState()
    state.on_quote(quote(PINGAN, "9.00"))
    outcomes: dict[str, Any] = {}
    for strategy in strategies.active():  # what the agent runner does
        try:
            outcomes[strategy.name] = len(strategy.evaluate(context(state)))
        except Exception as exc:
            outcomes[strategy.name] = exc
    assert outcomes["dip_buy"] == 1 and outcomes["stop_loss"] == 0
    assert isinstance(outcomes["broken"], RuntimeError)


def test_an_invalid_config_type_inside_a_strategy_raises() -> None:
    state = MarketState()
    state.load_history(PINGAN, bars(PINGAN, [10.0] * 5))
    state.on_quote(quote(PINGAN, "10.00"))
    rule = create("ma_cross")
    rule.config = None  # type: ignore[assignment]  # a bug in strategy code
    with pytest.raises(AttributeError):
        rule.evaluate(context(state))


def test_builtins_work_with_a_context_without_market_state() -> None:
    """The current agent runner passes only quotes and the account."""
    plain = StrategyContext(now=NOW, quotes={"sz000001": quote(PINGAN, "9.40")}, account=None)
    for name in BUILTINS:
        create(name).evaluate(plain)  # no error; dip-buy fires
    (signal,) = create("dip_buy").evaluate(plain)
    assert signal.code == "sz000001" and signal.action == "buy"


# -- Signal -------------------------------------------------------------------------------------


def _signal(**changes: Any) -> Signal:
    values: dict[str, Any] = {"symbol": PINGAN, "side": Side.BUY, "quantity": 100,
                              "price": None, "reason": "测试 (test)"}  # fmt: skip
    return Signal(**{**values, **changes})


def test_signal_contract() -> None:
    assert _signal(price=Decimal("10.01")).price == Decimal("10.01")
    assert _signal(quantity=0, target_weight=Decimal("0.1")).target_weight == Decimal("0.1")
    etf = parse_symbol("sh510300")
    assert _signal(symbol=etf, price=Decimal("4.001")).price == Decimal("4.001")


@pytest.mark.parametrize(
    "changes",
    [{"price": Decimal("10.005")}, {"price": 10.0}, {"price": Decimal("-1")},
     {"quantity": 0}, {"quantity": 1.5}, {"quantity": True},
     {"target_weight": Decimal("0.1")}, {"quantity": 0, "target_weight": Decimal("1.5")},
     {"quantity": 0, "target_weight": 0.1}, {"confidence": 1.5}, {"confidence": float("nan")},
     {"reason": ""}, {"side": "buy"}],
)  # fmt: skip
def test_invalid_signals_raise(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _signal(**changes)


def test_shares_for_weight() -> None:
    held = Position(MOUTAI, total=100, available=100, cost_price=Decimal("1500"),
                    last_price=Decimal("1500"))  # fmt: skip
    account = Account("a", cash=Decimal("850000"), positions=(held,))  # equity 1,000,000
    star = parse_symbol("sh688981")
    # 10% of 1,000,000 at 100.00 = 1,000 shares; STAR buys go 200, 201, ...
    assert shares_for_weight(star, Decimal("0.1"), account, Decimal("100"), side=Side.BUY) == 1000
    assert shares_for_weight(star, Decimal("0.0001"), account, Decimal("100"), side=Side.BUY) == 0
    assert (
        shares_for_weight(PINGAN, Decimal("0.1"), account, Decimal("10.07"), side=Side.BUY) == 9900
    )
    # Moutai: 150,000 held; 5% is 50,000: sell 66.67 shares -> whole lots only: 0
    assert shares_for_weight(MOUTAI, Decimal("0.05"), account, Decimal("1500"), side=Side.SELL) == 0
    assert shares_for_weight(MOUTAI, Decimal("0"), account, Decimal("1500"), side=Side.SELL) == 100
    assert shares_for_weight(MOUTAI, Decimal("0.15"), account, Decimal("1500"), side=Side.BUY) == 0


def test_decimal_price_puts_a_float_on_the_tick() -> None:
    assert decimal_price(10.005, Decimal("0.01")) == Decimal("10.01")  # half up, not 10.00
    assert decimal_price(10.004999, Decimal("0.01")) == Decimal("10.00")
    assert decimal_price(1.2345, Decimal("0.001")) == Decimal("1.235")
    assert _signal(price=decimal_price(9.87654, PINGAN.tick)).price == Decimal("9.88")
