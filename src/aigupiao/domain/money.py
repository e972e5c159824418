"""Money and prices as ``Decimal``, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0")


def to_decimal(value: object) -> Decimal:
    """Convert an int, str or Decimal to Decimal; floats go through ``str`` to avoid noise.

    Raises:
        ValueError: the value is not a finite number.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (a power of ten), half up."""
    return value.quantize(step, rounding=ROUND_HALF_UP)


def cny(value: Decimal) -> Decimal:
    """Round an amount of money to the cent, as brokers do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)  # round_half_up, one call less
