"""The JSON shape of a quote: what ``GET /api/quotes`` answers and what pushers send.

One object per quote, money and prices as decimal strings::

    {
      "code": "sh600519",              # sh600519, 600519, 600519.SH ...
      "name": "贵州茅台",               # optional
      "ts": "2026-11-24T10:15:03+08:00",  # ISO 8601; without an offset: Beijing time
      "last": "1488.00",
      "previous_close": "1480.00",
      "open": "1481.00", "high": "1490.50", "low": "1479.99",  # "0" before the first trade
      "volume": 1234500,                # shares, cumulative for the day
      "amount": "1834567890.12",        # CNY, cumulative for the day
      "bids": [["1487.99", 300], ...],  # optional, best first, volume in shares
      "asks": [["1488.00", 200], ...],  # optional
      "limit_up": "1628.00",            # optional
      "limit_down": "1332.00",          # optional
      "no_limit": false                 # optional: true when the security has no limit
    }                                   # today (a new listing's first days)

Answers also carry ``change_pct`` (percent, two places), which is ignored on input.
Inputs may give numbers instead of strings; parse pushed text with :func:`parse_json`
(decimals stay exact, nesting depth is limited). Every number is bounded by
:mod:`aigupiao.domain.ranges` (prices 100,000, volumes 10**12 shares, amounts 10**13 CNY):
a record beyond them is refused ``out_of_range`` with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aigupiao.core import jsontext
from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.ranges import MAX_MONEY, MAX_PRICE, MAX_SHARES, unsafe_character
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol

from .validate import Reason, Refusal

_CENT = Decimal("0.01")
_REQUIRED_PRICES = ("last", "previous_close", "open", "high", "low", "amount")
_LIMITS = {name: MAX_PRICE for name in _REQUIRED_PRICES} | {
    "amount": MAX_MONEY,
    "limit_up": MAX_PRICE,
    "limit_down": MAX_PRICE,
    "bids": MAX_PRICE,
    "asks": MAX_PRICE,
}
MAX_NAME_LENGTH = 32


def parse_json(text: str | bytes) -> Any:
    """Parse pushed JSON text: numbers with a fraction or exponent as exact Decimals,
    nesting limited (:func:`aigupiao.core.jsontext.loads`).

    Raises:
        ValueError: not JSON, not UTF-8, or nested too deep.
    """
    return jsontext.loads(text, parse_float=Decimal)


class _Malformed(Exception):
    def __init__(self, detail: str, reason: Reason = Reason.MALFORMED) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


def quote_to_dict(quote: Quote) -> dict[str, Any]:
    """The public JSON object of ``quote`` (Decimals as strings)."""
    return {
        "code": quote.symbol.full,
        "name": quote.name,
        "ts": quote.ts.isoformat(),
        "last": str(quote.last),
        "previous_close": str(quote.previous_close),
        "change_pct": str((quote.change_pct * 100).quantize(_CENT)),
        "open": str(quote.open),
        "high": str(quote.high),
        "low": str(quote.low),
        "volume": quote.volume,
        "amount": str(quote.amount),
        "bids": [[str(level.price), level.volume] for level in quote.bids],
        "asks": [[str(level.price), level.volume] for level in quote.asks],
        "limit_up": None if quote.limit_up is None else str(quote.limit_up),
        "limit_down": None if quote.limit_down is None else str(quote.limit_down),
        "no_limit": quote.no_limit,
    }


def quote_from_dict(item: Any) -> Quote | Refusal:
    """Parse one pushed record; a :class:`Refusal` says why it is not a quote.

    Only the shape is checked here (fields present, numbers, a known code);
    :class:`~aigupiao.market.validate.QuoteValidator` judges the values.
    """
    code = str(item.get("code", "?"))[:32] if isinstance(item, Mapping) else "?"
    try:
        if not isinstance(item, Mapping):
            raise _Malformed(f"expected an object, got {type(item).__name__}")
        raw_code = item.get("code")
        if not isinstance(raw_code, str):
            raise _Malformed("missing field 'code'")
        try:
            symbol = parse_symbol(raw_code)
        except DomainError as exc:
            return Refusal(code, Reason.NOT_A_SECURITY, exc.message_en)
        code = symbol.full
        prices = {name: _decimal(item, name) for name in _REQUIRED_PRICES}
        name = item.get("name", "")
        if not isinstance(name, str):
            raise _Malformed("'name' must be a string")
        if len(name) > MAX_NAME_LENGTH or unsafe_character(name) is not None:
            raise _Malformed(f"'name' must be printable, at most {MAX_NAME_LENGTH} characters")
        return Quote(
            symbol=symbol,
            name=name,
            ts=_timestamp(item.get("ts")),
            last=prices["last"],
            previous_close=prices["previous_close"],
            open=prices["open"],
            high=prices["high"],
            low=prices["low"],
            volume=_integer(item.get("volume"), "volume"),
            amount=prices["amount"],
            bids=_levels(item.get("bids"), "bids"),
            asks=_levels(item.get("asks"), "asks"),
            limit_up=_optional_decimal(item, "limit_up"),
            limit_down=_optional_decimal(item, "limit_down"),
            no_limit=_flag(item, "no_limit"),
        )
    except _Malformed as exc:
        return Refusal(code, exc.reason, exc.detail)


def _number(value: Any, name: str, limit: Decimal | int) -> Decimal:
    """``value`` as a finite Decimal of at most ``limit`` in size."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Malformed(f"'{name}' must be a decimal string or a number")
    if isinstance(value, str) and len(value) > 64:
        raise _Malformed(f"'{name}' is not a number: {value[:32]!r}...")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):  # ValueError: an int too long to print
        raise _Malformed(f"'{name}' is not a number: {str(value)[:32]!r}") from None
    if not number.is_finite():
        raise _Malformed(f"'{name}' is not a finite number")
    if number.copy_abs() > limit:  # copy_abs: no context, so 1e999999999 cannot overflow
        detail = f"'{name}' {_shown(number)} is above {_shown(limit)}"
        raise _Malformed(detail, Reason.OUT_OF_RANGE)
    return number


def _shown(value: Decimal | int) -> str:
    """A number for a message: as it is when short, else in scientific notation."""
    number = Decimal(value)
    return str(number)[:24] if number.adjusted() < 16 else f"{number:.3e}"


def _decimal(item: Mapping[str, Any], name: str) -> Decimal:
    if item.get(name) is None:
        raise _Malformed(f"missing field '{name}'")
    return _number(item[name], name, _LIMITS[name])


def _optional_decimal(item: Mapping[str, Any], name: str) -> Decimal | None:
    value = item.get(name)
    return None if value is None else _number(value, name, _LIMITS[name])


def _flag(item: Mapping[str, Any], name: str) -> bool:
    value = item.get(name, False)
    if not isinstance(value, bool):
        raise _Malformed(f"'{name}' must be true or false")
    return value


def _integer(value: Any, name: str) -> int:
    if value is None:
        raise _Malformed(f"missing field '{name}'")
    number = _number(value, name, MAX_SHARES)
    if number != number.to_integral_value():
        raise _Malformed(f"'{name}' must be a whole number of shares")
    return int(number)


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Malformed("'ts' must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Malformed(f"'ts' is not ISO 8601: {value[:40]!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def _levels(value: Any, name: str) -> tuple[Level, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 20:
        raise _Malformed(f"'{name}' must be a list of [price, volume] (at most 20)")
    levels = []
    for entry in value:
        if isinstance(entry, Mapping):
            price, volume = entry.get("price"), entry.get("volume")
        elif isinstance(entry, list) and len(entry) == 2:
            price, volume = entry
        else:
            raise _Malformed(f"'{name}' entries are [price, volume]")
        if price is None:
            raise _Malformed(f"'{name}' entry without a price")
        levels.append(Level(_number(price, name, MAX_PRICE), _integer(volume, name)))
    return tuple(levels)


__all__ = ["parse_json", "quote_from_dict", "quote_to_dict"]
