"""Exponential backoff with jitter."""

from __future__ import annotations

import random

import pytest

from aigupiao.core.retry import Backoff


class FixedUniform(random.Random):
    """Returns one end of the jitter range (or a chosen fraction of it)."""

    def __init__(self, pick: str) -> None:
        super().__init__(0)
        self.pick = pick

    def uniform(self, a: float, b: float) -> float:
        return {"low": a, "high": b, "mid": (a + b) / 2}[self.pick]


def test_grows_exponentially_and_is_capped_without_jitter() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, factor=2.0, jitter=0.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert backoff.attempts == 10


def test_other_factor() -> None:
    backoff = Backoff(initial=1.0, maximum=100.0, factor=3.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 3.0, 9.0, 27.0, 81.0, 100.0]


def test_jitter_extremes() -> None:
    low = Backoff(initial=1.0, maximum=8.0, jitter=0.2, rng=FixedUniform("low"))
    high = Backoff(initial=1.0, maximum=8.0, jitter=0.2, rng=FixedUniform("high"))
    mid = Backoff(initial=1.0, maximum=8.0, jitter=0.2, rng=FixedUniform("mid"))
    for base in (1.0, 2.0, 4.0, 8.0, 8.0):
        assert low.next_delay() == pytest.approx(base * 0.8)
        assert high.next_delay() == pytest.approx(base * 1.2)
        assert mid.next_delay() == pytest.approx(base)


def test_jitter_stays_within_bounds_and_varies() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, factor=2.0, jitter=0.2, rng=random.Random(7))
    delays = []
    for attempt in range(200):
        base = min(30.0, 0.5 * 2.0**attempt)
        delay = backoff.next_delay()
        assert base * 0.8 <= delay <= base * 1.2, (attempt, delay)
        delays.append(delay)
    capped = delays[10:]
    assert len(set(capped)) > 100  # jitter actually spreads the retries
    assert min(capped) < 30.0 < max(capped)


def test_same_seed_same_delays() -> None:
    first = Backoff(rng=random.Random(42))
    second = Backoff(rng=random.Random(42))
    assert [first.next_delay() for _ in range(20)] == [second.next_delay() for _ in range(20)]


def test_jitter_above_one_never_goes_negative() -> None:
    backoff = Backoff(initial=1.0, jitter=1.5, rng=FixedUniform("low"))
    assert backoff.next_delay() == 0.0


def test_reset_starts_over() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, jitter=0.0)
    for _ in range(8):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 0.5
    assert backoff.next_delay() == 1.0


def test_defaults() -> None:
    backoff = Backoff()
    assert (backoff.initial, backoff.maximum, backoff.factor, backoff.jitter) == (
        0.5,
        30.0,
        2.0,
        0.2,
    )
    assert 0.4 <= backoff.next_delay() <= 0.6


def test_a_long_outage_keeps_returning_the_cap() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, jitter=0.0)
    for _ in range(1100):
        assert backoff.next_delay() <= 30.0
    assert backoff.next_delay() == 30.0
