"""Per-account risk limits: their defaults, their meaning, and their validation.

Every limit is configurable per account; the defaults come from the ``agent``
section of the cloud's config (``risk_threshold`` and ``max_position_size`` are the
seed's keys). An optional limit set to ``None`` is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from aigupiao.domain.money import to_decimal


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits of one account.

    Attributes:
        max_position_size: largest value of one symbol, as a fraction of equity.
        risk_threshold: stop-loss: a position this fraction below its cost is sold,
            and not bought more of.
        trailing_stop: optional: a position this fraction below its highest price
            since it was bought is sold, and not bought more of.
        max_positions: optional: most symbols held at once (a buy of a new one beyond
            it is refused).
        daily_loss_limit: optional: a loss of this fraction of the day's starting
            equity (realised and unrealised) turns the account to REDUCING.
        max_orders_per_minute: optional: most orders accepted per account in any 60 s.
        duplicate_window: seconds in which the same account/code/side/quantity is
            refused as a duplicate (0 = off).
    """

    max_position_size: Decimal = Decimal("0.1")
    risk_threshold: Decimal = Decimal("0.08")
    trailing_stop: Decimal | None = None
    max_positions: int | None = 10
    daily_loss_limit: Decimal | None = Decimal("0.05")
    max_orders_per_minute: int | None = 30
    duplicate_window: int = 10

    def as_dict(self) -> dict[str, str | int | None]:
        """JSON-ready: fractions as text (exact), counts and seconds as integers."""
        return {name: _json(getattr(self, name)) for name in LIMIT_NAMES}

    def problems(self) -> list[LimitProblem]:
        """What is out of range, one entry per limit (empty when valid)."""
        found = []
        for name, bounds in _RANGES.items():
            value = getattr(self, name)
            if value is None:
                if not bounds.optional:
                    found.append(_problem(name, "不能为空", "may not be null"))
                continue
            if not bounds.holds(value):
                found.append(_range_problem(name, value, bounds))
        return found

    def updated(self, changes: Mapping[str, Any]) -> tuple[RiskLimits, list[LimitProblem]]:
        """These limits with ``changes`` (JSON values) applied, and what is wrong with them.

        Unknown names, values of the wrong type and values out of range are problems;
        the limits returned are only meaningful when there are none.
        """
        parsed: dict[str, Any] = {}
        problems = []
        for name, raw in changes.items():
            if name not in LIMIT_NAMES:
                problems.append(_problem(name, "未知的风控参数", "unknown risk limit"))
                continue
            try:
                parsed[name] = _parse(name, raw)
            except ValueError as exc:
                problems.append(_problem(name, f"取值无效：{exc}", f"invalid value: {exc}"))
        result = replace(self, **parsed)
        return result, problems + result.problems()


@dataclass(frozen=True, slots=True)
class LimitProblem:
    """One invalid limit, with the reason in Chinese and English."""

    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message_zh, "message_en": self.message_en}


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(RiskLimits))

_FRACTIONS = {"max_position_size", "risk_threshold", "trailing_stop", "daily_loss_limit"}


@dataclass(frozen=True, slots=True)
class _Range:
    low: Any
    high: Any
    optional: bool = False  # None allowed (the limit is off)
    low_open: bool = True  # the value must be above ``low``
    high_open: bool = False  # the value must be below ``high``

    def holds(self, value: Any) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return bool(above and below)

    def describe(self) -> tuple[str, str]:
        low = f"{'>' if self.low_open else '>='} {self.low}"
        high = f"{'<' if self.high_open else '<='} {self.high}"
        return f"须 {low} 且 {high}", f"must be {low} and {high}"


_RANGES: dict[str, _Range] = {
    "max_position_size": _Range(Decimal(0), Decimal(1)),
    "risk_threshold": _Range(Decimal(0), Decimal(1), high_open=True),
    "trailing_stop": _Range(Decimal(0), Decimal(1), optional=True, high_open=True),
    "max_positions": _Range(0, 10_000, optional=True),
    "daily_loss_limit": _Range(Decimal(0), Decimal(1), optional=True, high_open=True),
    "max_orders_per_minute": _Range(0, 100_000, optional=True),
    "duplicate_window": _Range(0, 3600, low_open=False),
}


def _json(value: object) -> str | int | None:
    if value is None or isinstance(value, int):
        return value
    return str(value)


def _parse(name: str, raw: object) -> Decimal | int | None:
    if raw is None:
        return None
    if name in _FRACTIONS:
        if isinstance(raw, bool):
            raise ValueError(f"{raw!r} is not a number")
        return to_decimal(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"{raw!r} is not a whole number")
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{raw!r} is not a whole number") from exc


def _problem(name: str, zh: str, en: str) -> LimitProblem:
    return LimitProblem(name, f"{name}：{zh}", f"{name}: {en}")


def _range_problem(name: str, value: object, bounds: _Range) -> LimitProblem:
    zh, en = bounds.describe()
    return _problem(name, f"{zh}，收到 {value}", f"{en}, got {value}")
