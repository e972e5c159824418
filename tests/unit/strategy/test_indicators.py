"""Incremental indicators equal straightforward batch computations, value by value;
``peek`` equals the next ``update`` without changing anything; the vectorised peek of
a whole market equals each symbol's scalar peek."""

from __future__ import annotations

import math
import random
from datetime import datetime
from itertools import pairwise

import numpy as np
import pytest

from aigupiao.core.clock import BEIJING
from aigupiao.strategy.indicators import (
    EMA,
    KINDS,
    RSI,
    SMA,
    RollingMax,
    RollingMin,
    change_pct,
    session_minutes,
    turnover_rate,
    volume_ratio,
)
from aigupiao.strategy.series import DailySeries, SeriesKey


def _walk(seed: int, n: int = 300) -> list[float]:
    rng = random.Random(seed)
    values = [10.0]
    for _ in range(n - 1):
        values.append(round(values[-1] * (1 + rng.gauss(0, 0.02)), 2))
    return values


# -- batch references, written the plain way ------------------------------------------


def sma_batch(values: list[float], n: int) -> list[float | None]:
    return [sum(values[i - n + 1 : i + 1]) / n if i >= n - 1 else None for i in range(len(values))]


def ema_batch(values: list[float], n: int) -> list[float | None]:
    out: list[float | None] = []
    alpha, ema = 2 / (n + 1), None
    for i, x in enumerate(values):
        if i == n - 1:
            ema = sum(values[:n]) / n
        elif i >= n and ema is not None:
            ema = alpha * x + (1 - alpha) * ema
        out.append(ema)
    return out


def rsi_batch(values: list[float], n: int) -> list[float | None]:
    """Wilder's RSI: simple averages of the first n changes, then Wilder smoothing."""
    out: list[float | None] = [None]
    gains = [max(b - a, 0.0) for a, b in pairwise(values)]
    losses = [max(a - b, 0.0) for a, b in pairwise(values)]
    avg_gain = avg_loss = 0.0
    for i in range(len(gains)):
        if i < n - 1:
            out.append(None)
            continue
        if i == n - 1:
            avg_gain, avg_loss = sum(gains[:n]) / n, sum(losses[:n]) / n
        else:
            avg_gain = (avg_gain * (n - 1) + gains[i]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i]) / n
        out.append(100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss))
    return out


def extreme_batch(values: list[float], n: int, pick: type[max] | type[min]) -> list[float | None]:
    return [pick(values[i - n + 1 : i + 1]) if i >= n - 1 else None for i in range(len(values))]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


CASES = [
    ("sma", SMA, sma_batch),
    ("ema", EMA, ema_batch),
    ("rsi", RSI, rsi_batch),
    ("max", RollingMax, lambda v, n: extreme_batch(v, n, max)),
    ("min", RollingMin, lambda v, n: extreme_batch(v, n, min)),
]


@pytest.mark.parametrize(("kind", "cls", "batch"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("period", [1, 2, 5, 14, 20])
@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_equals_batch_and_peek_equals_update(kind, cls, batch, period, seed) -> None:  # type: ignore[no-untyped-def]
    if kind == "rsi" and period == 1:
        period = 2
    values = _walk(seed)
    if seed == 2:  # flat stretches and repeated extremes
        values[50:80] = [values[50]] * 30
    expected = batch(values, period)
    indicator = cls(period)
    for i, x in enumerate(values):
        peeked = indicator.peek(x)
        got = indicator.update(x)
        assert _close(got, expected[i]), (kind, period, i, got, expected[i])
        if peeked is not None:  # peek may wait until the indicator is ready; then it is exact
            assert _close(peeked, got), (kind, period, i, peeked, got)
    assert indicator.ready


def test_peek_does_not_change_state() -> None:
    sma = SMA(3)
    for x in (1.0, 2.0, 3.0):
        sma.update(x)
    assert sma.peek(100.0) == pytest.approx((2 + 3 + 100) / 3)
    assert sma.value == pytest.approx(2.0)
    assert sma.update(4.0) == pytest.approx(3.0)


def test_rolling_max_peek_drops_the_oldest_even_when_it_is_the_maximum() -> None:
    highest = RollingMax(3)
    for x in (9.0, 1.0, 2.0):
        highest.update(x)
    assert highest.value == 9.0
    assert highest.peek(0.5) == 2.0  # 9 leaves the window
    assert highest.peek(5.0) == 5.0


def test_not_ready_is_none() -> None:
    assert SMA(3).value is None and SMA(3).peek(1.0) is None
    assert RSI(14).value is None
    assert RollingMin(5).value is None


def test_rsi_edges() -> None:
    rising, flat = RSI(3), RSI(3)
    for x in (1.0, 2.0, 3.0, 4.0):
        rising.update(x)
        flat.update(5.0)
    assert rising.value == 100.0
    assert flat.value == 50.0


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SMA(0)


@pytest.mark.parametrize("kind", ["sma", "ema", "rsi", "max", "min"])
def test_vector_live_equals_scalar_peek(kind: str) -> None:
    """A DailySeries over 40 symbols: ``live`` of today's prices equals each symbol's
    scalar ``peek``; ``value``/``previous`` mirror the scalar indicator."""
    period = 5
    series = DailySeries(SeriesKey(kind, period), capacity=64)
    scalars = []
    rng = random.Random(kind)
    for slot in range(40):
        values = _walk(slot, n=slot % 12)  # some symbols have too little history
        series.push(slot, values)
        scalar = KINDS[kind](period) if values else None
        for x in values if scalar is not None else ():
            scalar.update(x)
        scalars.append((scalar, values))
    today = np.array([rng.uniform(5, 15) for _ in range(40)])
    live = series.live(today)
    value = series.value(40)
    for slot, (scalar, _) in enumerate(scalars):
        expected = scalar.peek(float(today[slot])) if scalar is not None else None
        got = float(live[slot])
        assert _close(None if math.isnan(got) else got, expected), (kind, slot)
        current = None if math.isnan(value[slot]) else float(value[slot])
        assert _close(current, scalar.value if scalar is not None else None)


def test_series_previous_is_the_value_one_bar_earlier() -> None:
    series = DailySeries(SeriesKey("sma", 2), capacity=4)
    series.push(0, [1.0, 3.0, 5.0])
    assert series.value(1)[0] == 4.0 and series.previous(1)[0] == 2.0
    series.push(0, [7.0])
    assert series.value(1)[0] == 6.0 and series.previous(1)[0] == 4.0


def test_series_views_are_read_only() -> None:
    series = DailySeries(SeriesKey("sma", 2), capacity=4)
    with pytest.raises(ValueError):
        series.value(2)[0] = 1.0


def test_series_key_is_validated() -> None:
    with pytest.raises(ValueError):
        SeriesKey("macd", 5)
    with pytest.raises(ValueError):
        SeriesKey("sma", 5, "vwap")


# -- intraday ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "minutes"),
    [("09:25", 0), ("09:30", 0), ("10:00", 30), ("11:30", 120), ("12:00", 120),
     ("13:00", 120), ("14:00", 180), ("15:00", 240), ("16:00", 240)],
)  # fmt: skip
def test_session_minutes(clock: str, minutes: float) -> None:
    hour, minute = map(int, clock.split(":"))
    assert session_minutes(datetime(2026, 3, 2, hour, minute, tzinfo=BEIJING)) == minutes


def test_volume_ratio_change_and_turnover() -> None:
    # 30 minutes in, 1.5 million shares; the average day trades 4.8 million (20,000 a minute)
    assert volume_ratio(1_500_000, 4_800_000, 30) == pytest.approx(2.5)
    assert math.isnan(volume_ratio(1_000, 4_800_000, 0))
    assert math.isnan(volume_ratio(1_000, 0, 30))
    assert change_pct(95.0, 100.0) == pytest.approx(-0.05)
    assert math.isnan(change_pct(95.0, 0.0))
    assert turnover_rate(1_000_000, 100_000_000) == pytest.approx(0.01)
    assert math.isnan(turnover_rate(1_000, 0))
