"""Shaping stored rows for the API: money without storage padding.

The store keeps four decimal places; a price of 1467.61 should read "1467.61",
not "1467.6100". Values keep at least two places and never lose a digit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_CENT = Decimal("0.01")


def trim(value: Decimal) -> Decimal:
    rounded = value.quantize(_CENT)
    return rounded if rounded == value else value.normalize()


def public(value: Any) -> Any:
    """``value`` with every Decimal inside it trimmed (dicts and lists are walked)."""
    if isinstance(value, Decimal):
        return trim(value)
    if isinstance(value, dict):
        return {key: public(item) for key, item in value.items()}
    if isinstance(value, list):
        return [public(item) for item in value]
    return value
