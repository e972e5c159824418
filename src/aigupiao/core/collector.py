"""The cloud process's garbage-collection policy.

A full market is thousands of new quotes, book levels and tuples every few seconds, and
a cloud process also holds a large, long-lived heap (the market state, the latest
quotes, bars, caches). With CPython's default thresholds (700, 10, 10) the young
generation is collected every 700 new container objects, and each promotion wave soon
triggers a full collection that walks the whole long-lived heap: measured on
``aigupiao bench pipeline``, that was two thirds of the pipeline's time.

So the cloud (and the benchmark that stands in for it) does two things once it has
built its long-lived state: :func:`freeze_startup_heap` collects once and moves every
object alive at that point out of the collector's view (``gc.freeze``; they are still
freed normally when their last reference goes), and :func:`tune_collector` makes young
collections rarer. Cyclic garbage waits a little longer to be found (at most
:data:`YOUNG_THRESHOLD` new objects), which costs a few megabytes at most.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # new container objects between young collections (default 700)
MIDDLE_THRESHOLD = 20  # young collections between middle ones (default 10)


def tune_collector() -> None:
    """Make young collections rarer (idempotent; the oldest generation keeps its rule)."""
    _, _, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, oldest)


def freeze_startup_heap() -> None:
    """Collect once, then keep every object alive now out of later collections."""
    gc.collect()
    gc.freeze()


__all__ = ["MIDDLE_THRESHOLD", "YOUNG_THRESHOLD", "freeze_startup_heap", "tune_collector"]
