"""Bounded types for every number and name that crosses a boundary.

A node's frame, a browser's request and an API client's body are all untrusted:
each number they carry gets a range that the market can hold and the database can
store (``Money`` columns hold 16 integer digits, ``BigInteger`` 63 bits), so a
``seq`` of ``10**30`` or a price of ``1e400`` is refused at the edge with the field
named, never deep inside a task that it would kill. Names get a charset: no control
characters, no bidirectional overrides (U+202E makes ``exe.txt`` read as ``txt.exe``).

Used by :mod:`aigupiao.protocol.v1`, the cloud's and the node's HTTP schemas.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

# The ranges themselves live in the domain, where the market layer reads them too.
from aigupiao.domain.ranges import (
    FIRST_YEAR,
    INT64_MAX,
    LAST_YEAR,
    MAX_DECIMAL_PLACES,
    MAX_MONEY,
    MAX_PRICE,
    MAX_QUANTITY,
    MAX_SHARES,
    time_in_range,
    unsafe_character,
)


def _plain(value: Decimal) -> Decimal:
    """``1E+2`` as ``100``: stored and shown in fixed point."""
    exponent = value.as_tuple().exponent
    return Decimal(format(value, "f")) if isinstance(exponent, int) and exponent > 0 else value


def _decimal(*, ge: Decimal | None = None, gt: Decimal | None = None, le: Decimal) -> Any:
    return Field(ge=ge, gt=gt, le=le, decimal_places=MAX_DECIMAL_PLACES, allow_inf_nan=False)


Price = Annotated[Decimal, _decimal(gt=Decimal(0), le=MAX_PRICE), AfterValidator(_plain)]
"""A price in CNY: positive, at most 100,000, at most 6 decimal places."""

PriceOrZero = Annotated[Decimal, _decimal(ge=Decimal(0), le=MAX_PRICE), AfterValidator(_plain)]
"""A price where 0 means none (a quote's empty book level, a suspended last)."""

SignedPrice = Annotated[Decimal, _decimal(ge=-MAX_PRICE, le=MAX_PRICE), AfterValidator(_plain)]
"""A price that may be negative: a position's cost after profits were taken out (摊薄成本)."""

Money = Annotated[Decimal, _decimal(ge=Decimal(0), le=MAX_MONEY), AfterValidator(_plain)]
"""A non-negative amount of CNY (cash, equity, turnover, fees)."""

SignedMoney = Annotated[Decimal, _decimal(ge=-MAX_MONEY, le=MAX_MONEY), AfterValidator(_plain)]
"""An amount of CNY that may be negative (profit and loss)."""

Ratio = Annotated[Decimal, _decimal(ge=Decimal(0), le=Decimal(1)), AfterValidator(_plain)]
"""A fraction between 0 and 1."""

Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
"""Shares in one order: a JSON integer (not ``"100"``, not ``true``), 1 to 100,000,000."""

Shares = Annotated[int, Field(strict=True, ge=0, le=MAX_SHARES)]
"""Shares held, filled or traded: 0 to 10**12."""

Seq = Annotated[int, Field(strict=True, ge=1, le=INT64_MAX)]
"""A node's message sequence number: fits the database's 64-bit integer."""

SeqOrZero = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]


def _safe_text(value: str) -> str:
    """Refuse control, format (bidirectional overrides, zero-width) and unassigned
    characters: they hide what a name really says in logs, tables and the dashboard."""
    char = unsafe_character(value)
    if char is not None:
        raise ValueError(
            f"不允许的字符 U+{ord(char):04X} (character U+{ord(char):04X} is not allowed)"
        )
    return value


Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$")
]
"""An id or name chosen by a machine (node, account, client order id): ASCII letters,
digits and ``_ . : @ -``, 1 to 64 characters."""

Text = Annotated[str, StringConstraints(max_length=500), AfterValidator(_safe_text)]
"""Free text from outside (a reason, a broker's message): printable, at most 500 characters."""

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    AfterValidator(_safe_text),
]  # fmt: skip
"""A human-chosen name (may be Chinese): printable, 1 to 64 characters."""

SecurityCode = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=16, strip_whitespace=True, pattern=r"^[A-Za-z0-9.]+$"
    ),
]
"""A security code as people write it (``600519``, ``sh600519``, ``600519.SH``): the
service parses it and names a code that is none."""


def _in_range(value: datetime) -> datetime:
    if not time_in_range(value):
        raise ValueError(
            f"时间须在 {FIRST_YEAR} 年到 {LAST_YEAR} 年之间 "
            f"(a time must fall between the years {FIRST_YEAR} and {LAST_YEAR})"
        )
    return value


Moment = Annotated[datetime, AfterValidator(_in_range)]
"""A time from outside (ISO 8601), between the years 1990 and 2199."""
