"""Logging setup shared by the CLI entry points."""

from __future__ import annotations

import logging
import time


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # uvicorn's per-request access lines drown the summary line in `aigupiao up`.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


class QuietLog:
    """Logs the first occurrence of each key, then only a count once per ``every`` seconds.

    A peer that sends garbage in a loop cannot flood the log: ``bad frame from node X``
    appears once, then ``... 312 more in the last 60s``.
    """

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self._logger, self._every = logger, every
        self._seen: dict[str, tuple[float, int]] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        first_at, suppressed = self._seen.get(key, (0.0, -1))
        if suppressed < 0:
            self._logger.warning(message, *args)
            self._seen[key] = (now, 0)
        elif now - first_at >= self._every:
            self._logger.warning(message + " (%d more in the last %.0fs)", *args, suppressed,
                                 now - first_at)  # fmt: skip
            self._seen[key] = (now, 0)
        else:
            self._seen[key] = (first_at, suppressed + 1)
