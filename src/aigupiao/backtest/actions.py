"""Suspected corporate actions: a move between two daily bars that no price limit allows.

Raw prices jump on ex-dates (300750 opened at 213 on 2023-04-26 after closing at 385.90:
10转增8 and a dividend). A day whose open lies beyond the security's daily limit from the
previous close, by more than a tick, is reported as a suspected corporate action, and
a position held across it is adjusted (shares x ratio, the same total cost), so the gap
is not booked as a loss.

* The limit used is the wider of the security's limit and 10% (the securities table's
  ST flag is today's, and an ST limit of 5% would turn ordinary 2016 moves into actions).
* Days without a limit (a new listing's first days) are never actions; neither are
  the first five bars of a symbol whose history starts inside the data (a likely new
  listing whose date the securities table does not know).
* A gap inside the limit is not detected (300059's 10送2 on 2021-05-27, -16.7% on a ±20%
  board): forward-adjust such data with its ``adj_factor`` file.
* The ratio is previous close / open, snapped to the nearest round bonus ratio
  (1.1, 1.2, ... in steps of 0.05) when the open then lies inside the limit band of the
  ex-rights reference price previous close / ratio (1.8117 -> 1.8 for 300750).
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from .timeline import Timeline

_STEP = 0.05


def detect_actions(timeline: Timeline) -> dict[int, list[int]]:
    """Day number -> slots with a suspected corporate action that day."""
    daily = timeline.daily
    opened = daily["open"]
    previous = timeline.previous_close_by_day
    pct = np.fmax(timeline.limit_pct, 0.10)  # nan (no limit) stays nan
    tick = timeline.tick[None, :]
    with np.errstate(invalid="ignore"):
        up = previous * (1 + pct) + tick * 1.5
        down = previous * (1 - pct) - tick * 1.5
        beyond = (opened > up) | (opened < down)
    beyond &= ~np.isnan(opened) & ~np.isnan(previous) & ~np.isnan(pct)
    done = timeline.done_by_day
    first_bar_day = np.argmax(~np.isnan(daily["close"]), axis=0)
    late_start = first_bar_day > 0
    beyond &= ~((done < 5) & late_start[None, :])
    found: dict[int, list[int]] = {}
    for day, slot in zip(*np.nonzero(beyond), strict=True):
        found.setdefault(int(day), []).append(int(slot))
    return found


def snap_ratio(previous_close: float, opened: float, limit: float) -> Decimal:
    """The factor held shares are multiplied by across the action (see the module
    docstring)."""
    raw = previous_close / opened
    band = 0.10 if math.isnan(limit) else max(limit, 0.10)
    snapped = round(raw / _STEP) * _STEP
    if snapped > 0:
        reference = previous_close / snapped
        if abs(opened / reference - 1) <= band:
            return Decimal(repr(round(snapped, 2)))
    return Decimal(repr(round(raw, 4)))
