"""What a run adds to its trades: the benchmark, the traded codes' closes, notes on the data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from aigupiao.domain.errors import DomainError
from aigupiao.domain.symbols import parse_symbol

from .data import MarketData
from .model import BacktestInputError
from .timeline import Timeline, ffill

CENT = Decimal("0.01")
BUY_AND_HOLD = "buy_and_hold"


def benchmark_slot(name: str | None, data: MarketData) -> int | None:
    """The slot of a benchmark code (None for none or ``buy_and_hold``).

    Raises:
        BacktestInputError: the code is not a code, or not in the data.
    """
    if not name or name == BUY_AND_HOLD:
        return None
    try:
        full = parse_symbol(name).full
    except DomainError:
        full = name
    codes = data.codes
    if full not in codes:
        raise BacktestInputError(
            f"基准 {name} 不在数据里（用 buy_and_hold 或数据中的代码）",
            f"benchmark {name} is not in the data (use buy_and_hold or a code of the data)",
        )
    return codes.index(full)


def benchmark(name: str | None, cash: Decimal, timeline: Timeline) -> list[tuple[date, Decimal]]:
    """The benchmark as equity: ``cash`` in one code bought and held at its first close, or
    (``buy_and_hold``) spread equally over every code of the data, each from its first
    close (a code joins the average on its first day)."""
    slot = benchmark_slot(name, timeline.data)
    if not name:
        return []
    daily = timeline.daily["close"]
    filled = ffill(daily)
    first = daily[np.argmax(~np.isnan(daily), axis=0), np.arange(daily.shape[1])]
    if slot is None:
        with np.errstate(all="ignore"):
            growth = np.nanmean(filled / first[None, :], axis=1)
    else:
        growth = filled[:, slot] / first[slot]
    days = [date.fromordinal(o) for o in timeline.day_ordinals.tolist()]
    return [
        (day, (cash * Decimal(repr(g))).quantize(CENT))
        for day, g in zip(days, growth.tolist(), strict=True)
        if g == g  # not nan
    ]


def closes(
    timeline: Timeline, slots: list[int], dates: list[date], cache: dict[float, Decimal]
) -> dict[str, list[tuple[date, Decimal]]]:
    """Each given slot's daily closes, by code (``cache``: floats already made Decimals)."""
    found: dict[str, list[tuple[date, Decimal]]] = {}
    for slot in slots:
        column = timeline.daily["close"][:, slot]
        rows = np.flatnonzero(~np.isnan(column))
        points = []
        for row, value in zip(rows.tolist(), column[rows].tolist(), strict=True):
            number = cache.get(value)
            if number is None:
                number = cache[value] = Decimal(repr(value))
            points.append((dates[row], number))
        found[timeline.data.symbols[slot].full] = points
    return found


def adjustment_notes(data: MarketData) -> list[str]:
    """Say which prices are forward-adjusted (a mix with raw ones is worth knowing)."""
    adjusted = sorted(code for code, kind in data.adjustment.items() if kind != "raw")
    if not adjusted:
        return []
    shown = ", ".join(adjusted[:5]) + (" ..." if len(adjusted) > 5 else "")
    return [
        f"{len(adjusted)} 个代码为前复权价格：{shown}"
        f" ({len(adjusted)} codes have forward-adjusted prices: {shown})"
    ]
