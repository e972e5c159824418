"""Daily indicators for a whole market: one incremental indicator per symbol slot,
its results mirrored into numpy arrays so strategies can compare the market at once.

A :class:`DailySeries` is fed completed daily bars (``push``: O(1) per symbol and bar).
``value`` holds each symbol's indicator after its latest completed bar, ``previous``
the one before (for crosses), and :meth:`DailySeries.live` extends every symbol by
one provisional bar (today's price so far) in a single vectorised step: the live
moving average or RSI a strategy compares on each quote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .indicators import KINDS, FloatArray, Indicator

FIELDS = ("open", "high", "low", "close", "volume", "amount")


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """Which indicator of which bar field: ``SeriesKey("sma", 20, "close")``."""

    kind: str
    period: int
    field: str = "close"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown indicator kind {self.kind!r}; known: {sorted(KINDS)}")
        if self.field not in FIELDS:
            raise ValueError(f"unknown bar field {self.field!r}; known: {FIELDS}")
        if not isinstance(self.period, int) or not 1 <= self.period <= 1000:
            raise ValueError(f"period must be 1..1000, not {self.period!r}")


class DailySeries:
    """One indicator for every slot; see the module docstring."""

    def __init__(self, key: SeriesKey, capacity: int) -> None:
        self.key = key
        self._cls = KINDS[key.kind]
        self._objects: list[Indicator | None] = [None] * capacity
        self._value = np.full(capacity, math.nan)
        self._previous = np.full(capacity, math.nan)
        self._state = tuple(np.full(capacity, math.nan) for _ in range(self._cls.state_size))

    def grow(self, capacity: int) -> None:
        self._objects.extend([None] * (capacity - len(self._objects)))
        self._value = _grown(self._value, capacity)
        self._previous = _grown(self._previous, capacity)
        self._state = tuple(_grown(array, capacity) for array in self._state)

    def push(self, slot: int, values: Sequence[float]) -> None:
        """Feed one symbol its next completed bars (oldest first), then mirror it."""
        if not values:
            return
        indicator = self._objects[slot]
        if indicator is None:
            indicator = self._objects[slot] = self._cls(self.key.period)
        previous = indicator.value
        update = indicator.update
        for x in values:
            previous = indicator.value
            update(x)
        value = indicator.value
        self._previous[slot] = math.nan if previous is None else previous
        self._value[slot] = math.nan if value is None else value
        for array, number in zip(self._state, indicator.state(), strict=True):
            array[slot] = number

    def indicator(self, slot: int) -> Indicator | None:
        """The scalar indicator behind a slot (None before its first bar)."""
        return self._objects[slot]

    def value(self, size: int) -> FloatArray:
        """Each slot's value after its latest completed bar (nan: not enough bars)."""
        return _read_only(self._value[:size])

    def previous(self, size: int) -> FloatArray:
        """Each slot's value one completed bar earlier."""
        return _read_only(self._previous[:size])

    def live(self, current: FloatArray) -> FloatArray:
        """Each slot's value if its next bar closed at ``current`` (one value per slot)."""
        size = current.shape[0]
        state = tuple(array[:size] for array in self._state)
        return self._cls.peek_vector(self.key.period, state, current)


def _grown(array: FloatArray, capacity: int) -> FloatArray:
    bigger = np.full(capacity, math.nan)
    bigger[: array.shape[0]] = array
    return bigger


def _read_only(array: FloatArray) -> FloatArray:
    view = array.view()
    view.flags.writeable = False
    return view
