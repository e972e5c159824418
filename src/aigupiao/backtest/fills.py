"""What a bar-based fill under A-share rules may not assume (see ``docs/backtest.md``)."""

from __future__ import annotations

import math

from .model import FillModel


def sealed(
    buy: bool,
    model: FillModel,
    bar: tuple[float, float, float, float],
    up: float,
    down: float,
    tick: float,
) -> str | None:
    """The rule that keeps a bar-based fill from happening, or None if it could happen:
    a buy into a sealed limit up (``limit_up``: for ``next_open`` an open at the limit that
    is also the bar's high, the board sealed at the open; for ``next_close`` a close at the
    limit; for ``vwap`` a whole bar at it), a sell into a sealed limit down likewise
    (``limit_down``). ``bar`` is (open, high, low, close); a nan limit is no limit."""
    o, h, low, c = bar
    half = tick / 2
    if buy and not math.isnan(up):
        at_limit = {
            FillModel.NEXT_OPEN: o >= up - half and h <= o + half,
            FillModel.NEXT_CLOSE: c >= up - half,
            FillModel.VWAP: low >= up - half,
        }[model]
        return "limit_up" if at_limit else None
    if not buy and not math.isnan(down):
        at_limit = {
            FillModel.NEXT_OPEN: o <= down + half and low >= o - half,
            FillModel.NEXT_CLOSE: c <= down + half,
            FillModel.VWAP: h <= down + half,
        }[model]
        return "limit_down" if at_limit else None
    return None


def lots(quantity: int, minimum: int, step: int) -> int:
    """``quantity`` down to a board's lots: at least ``minimum``, then steps of ``step``."""
    if quantity < minimum:
        return 0
    return minimum + (quantity - minimum) // step * step
