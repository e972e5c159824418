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

import unicodedata
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

INT64_MAX = 2**63 - 1

MAX_PRICE = Decimal("100000")  # CNY per share; the dearest A-share has never passed 3,000
MAX_QUANTITY = 100_000_000  # shares in one order; exchanges cap a limit order at 1,000,000
MAX_SHARES = 10**12  # shares held, filled, or traded in a day by one security
MAX_MONEY = Decimal(10) ** 13  # CNY: cash, equity, turnover of one account or one security
MAX_DECIMAL_PLACES = 6


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

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _safe_text(value: str) -> str:
    """Refuse control, format (bidirectional overrides, zero-width) and unassigned
    characters: they hide what a name really says in logs, tables and the dashboard."""
    for char in value:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
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
