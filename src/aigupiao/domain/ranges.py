"""The ranges every number the system holds lies in, and the characters a name may use.

The market cannot exceed them and the database is sized for them (``Money`` columns hold
16 integer digits, ``BigInteger`` 63 bits). Anything from outside (a pushed quote, an API
body, a node's frame) is checked against them at the edge: a value beyond them is a
mistake or an attack, and deep inside it would crash the task that met it (a volume of
``1e30`` does not fit a database column; ``1e308`` overflows ``Decimal.quantize``).

The pydantic types built on these live in :mod:`aigupiao.protocol.bounds`; the market
layer, which sits beside ``protocol``, checks quotes with them in
:mod:`aigupiao.market.validate`.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal

INT64_MAX = 2**63 - 1

MAX_PRICE = Decimal("100000")  # CNY per share; the dearest A-share has never passed 3,000
MAX_QUANTITY = 100_000_000  # shares in one order; exchanges cap a limit order at 1,000,000
MAX_SHARES = 10**12  # shares held, filled, or traded in a day by one security
MAX_MONEY = Decimal(10) ** 13  # CNY: cash, equity, turnover of one account or one security
MAX_DECIMAL_PLACES = 6

# Times from outside: the exchanges opened in December 1990. Outside these years a time
# is a mistake, and at the edges of datetime's range a time zone conversion overflows.
FIRST_YEAR, LAST_YEAR = 1990, 2199


def time_in_range(moment: datetime) -> bool:
    """Whether ``moment`` (aware or naive) falls in the years the system deals with."""
    return FIRST_YEAR <= moment.year <= LAST_YEAR


_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def unsafe_character(text: str) -> str | None:
    """The first control, format (bidirectional override, zero-width), private-use or
    unassigned character of ``text``, or None. Such characters hide what a name really
    says in logs, tables and the dashboard (U+202E makes ``exe.txt`` read as ``txt.exe``)."""
    for char in text:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            return char
    return None
