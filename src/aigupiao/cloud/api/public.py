"""Shaping stored rows for the API: money without storage padding.

The store keeps four decimal places; a price of 1467.61 should read "1467.61",
not "1467.6100". Values keep at least two places and never lose a digit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar, cast

_CENT = Decimal("0.01")
_T = TypeVar("_T")


def trim(value: Decimal) -> Decimal:
    rounded = value.quantize(_CENT)
    return rounded if rounded == value else value.normalize()


def public(value: _T) -> _T:
    """``value`` with every Decimal inside it trimmed (dicts and lists are walked); the
    shape, and so the type, is unchanged."""
    return cast(_T, _trimmed(value))


def _trimmed(value: Any) -> Any:
    if isinstance(value, Decimal):
        return trim(value)
    if isinstance(value, dict):
        return {key: _trimmed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trimmed(item) for item in value]
    return value
