"""The built-in strategies by name, and one account's set of strategies.

The agent runner keeps one :class:`StrategySet` per account: built-ins created from
:class:`StrategySetting` rows (name, enabled, paused, config; the API stores and edits
those rows), plus the user strategies loaded from ``agent.strategy_paths``
(:mod:`.loader`). Each tick it evaluates ``active()``, catching each strategy's
exceptions on its own.

* **enabled** - the strategy exists for the account (disabling drops it and its memory);
* **paused** - it keeps its memory (what it proposed today) but is not evaluated;
* **config** - validated against the strategy's config model (``schema(name)`` gives
  its JSON schema); a bad config raises ``pydantic.ValidationError`` and changes nothing.

:data:`DEFAULT_SET` is what a new account runs: the seed's dip-buy and the stop-loss
(``risk_threshold``), the strategies the embedded default has always run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

from .base import BuiltinStrategy, Strategy
from .breakout import Breakout
from .candles import Candles
from .dip_buy import DipBuy
from .llm import LlmStrategy
from .ma_cross import MACross
from .momentum import Momentum
from .rsi_reversion import RSIReversion
from .stop_loss import StopLoss

BUILTINS: dict[str, type[BuiltinStrategy[Any]]] = {
    cls.name: cls
    for cls in (DipBuy, StopLoss, Momentum, MACross, RSIReversion, Breakout, Candles, LlmStrategy)
}
DEFAULT_SET: tuple[str, ...] = ("dip_buy", "stop_loss")


class UnknownStrategy(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"没有名为 {name} 的策略 (no strategy named {name})")
        self.name = name


class StrategySetting(BaseModel):
    """One built-in strategy's setting for one account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="策略名 (strategy name), a key of BUILTINS")
    enabled: bool = True
    paused: bool = False
    config: dict[str, Any] = Field(default_factory=dict, description="策略参数 (its config)")


@dataclass(slots=True)
class StrategyChoice:
    """What the API set for one strategy of one account, as stored in the ``settings``
    table under ``agent.strategies.<account>``: ``params`` holds the changed params only."""

    enabled: bool
    paused: bool = False
    params: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "paused": self.paused, "params": dict(self.params or {})}


def parse_choices(stored: Any) -> dict[str, StrategyChoice]:
    """The choices of a stored ``{"strategies": {name: {...}}}`` value (anything else: none)."""
    choices: dict[str, StrategyChoice] = {}
    if not isinstance(stored, dict):
        return choices
    for name, value in (stored.get("strategies") or {}).items():
        if isinstance(value, dict):
            choices[name] = StrategyChoice(
                enabled=bool(value.get("enabled", True)),
                paused=bool(value.get("paused", False)),
                params=dict(value.get("params") or {}),
            )
    return choices


def builtin_settings(
    choices: Mapping[str, StrategyChoice], defaults: Mapping[str, Mapping[str, Any]]
) -> list[StrategySetting]:
    """The built-ins an account runs: those its choices enable (a built-in not mentioned
    runs if it is in :data:`DEFAULT_SET`), each with its changed params over ``defaults``."""
    settings = []
    for name in BUILTINS:
        choice = choices.get(name) or StrategyChoice(enabled=name in DEFAULT_SET)
        if not choice.enabled:
            continue
        params = {**defaults.get(name, {}), **(choice.params or {})}
        settings.append(StrategySetting(name=name, paused=choice.paused, config=params))
    return settings


def user_instance(template: Strategy, params: Mapping[str, Any] | None) -> Strategy:
    """An account's own instance of a loaded user strategy (its config from ``params``
    when it is a :class:`BuiltinStrategy` subclass)."""
    cls = type(template)
    if issubclass(cls, BuiltinStrategy):
        return cast(Strategy, cls.from_config(dict(params or {})))
    return cls()


def create(name: str, config: dict[str, Any] | None = None) -> BuiltinStrategy[Any]:
    """A new built-in strategy; raises :class:`UnknownStrategy` or ``ValidationError``."""
    cls = BUILTINS.get(name)
    if cls is None:
        raise UnknownStrategy(name)
    return cls.from_config(config or {})


def schema(name: str) -> dict[str, Any]:
    cls = BUILTINS.get(name)
    if cls is None:
        raise UnknownStrategy(name)
    return cls.schema()


def describe_builtins() -> list[dict[str, Any]]:
    """Name, title, rule and config schema of every built-in (for the API)."""
    return [
        {"name": name, "title": cls.title, "rule": cls.rule(), "default": name in DEFAULT_SET,
         "schema": cls.schema()}
        for name, cls in BUILTINS.items()
    ]  # fmt: skip


def default_settings() -> list[StrategySetting]:
    return [StrategySetting(name=name) for name in DEFAULT_SET]


class StrategySet:
    """One account's strategies: built-ins by setting, plus user strategies."""

    def __init__(
        self, settings: Iterable[StrategySetting] | None = None, user: Sequence[Strategy] = ()
    ) -> None:
        self._builtins: dict[str, BuiltinStrategy[Any]] = {}
        self._paused: set[str] = set()
        self._user: list[Strategy] = []
        for setting in default_settings() if settings is None else settings:
            self.apply(setting)
        self.set_user_strategies(user)

    def apply(self, setting: StrategySetting) -> None:
        """Create, reconfigure, pause or drop a built-in as ``setting`` says."""
        name = setting.name
        if name not in BUILTINS:
            raise UnknownStrategy(name)
        if not setting.enabled:
            self._builtins.pop(name, None)
            self._paused.discard(name)
            return
        current = self._builtins.get(name)
        if current is None:
            self._builtins[name] = create(name, setting.config)
        elif setting.config != current.config.model_dump(mode="json"):
            current.configure(**setting.config)
        if setting.paused:
            self._paused.add(name)
        else:
            self._paused.discard(name)

    def pause(self, name: str) -> None:
        self._get(name)
        self._paused.add(name)

    def resume(self, name: str) -> None:
        self._get(name)
        self._paused.discard(name)

    def set_user_strategies(self, strategies: Sequence[Strategy]) -> None:
        """Replace the user strategies (after a reload); built-ins stay as they are."""
        clash = [s.name for s in strategies if s.name in BUILTINS]
        if clash:
            raise ValueError(f"user strategies may not take built-in names: {clash}")
        self._user = list(strategies)

    def get(self, name: str) -> Strategy | None:
        builtin = self._builtins.get(name)
        if builtin is not None:
            return builtin
        return next((s for s in self._user if s.name == name), None)

    def active(self) -> list[Strategy]:
        """The strategies to evaluate now: enabled and not paused, built-ins first."""
        running: list[Strategy] = [s for n, s in self._builtins.items() if n not in self._paused]
        running.extend(s for s in self._user if s.name not in self._paused)
        return running

    def all(self) -> list[Strategy]:
        return [*self._builtins.values(), *self._user]

    def is_paused(self, name: str) -> bool:
        return name in self._paused

    def settings(self) -> list[StrategySetting]:
        """The built-ins' current settings (to store)."""
        return [
            StrategySetting(name=name, paused=name in self._paused,
                            config=strategy.config.model_dump(mode="json"))
            for name, strategy in self._builtins.items()
        ]  # fmt: skip

    def _get(self, name: str) -> Strategy:
        strategy = self.get(name)
        if strategy is None:
            raise UnknownStrategy(name)
        return strategy
