"""Exponential backoff with jitter, for reconnect loops."""

from __future__ import annotations

import random


class Backoff:
    """Delays ``initial * factor**n``, capped at ``maximum``, each +-``jitter`` fraction."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.initial, self.maximum, self.factor, self.jitter = initial, maximum, factor, jitter
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        # The exponent stops growing once the cap is reached, so a long outage cannot overflow.
        base = min(self.maximum, self.initial * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return max(0.0, base * (1 + self._rng.uniform(-self.jitter, self.jitter)))

    def reset(self) -> None:
        self.attempts = 0
