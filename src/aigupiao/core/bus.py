"""An in-process publish/subscribe bus (the single-process embedded mode).

Handlers are plain callables run synchronously in publish order, so a quote
costs one function call per subscriber. A handler that raises is logged and
counted; it never stops the publisher or the other handlers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


class Bus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.errors = 0

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        """Register ``handler`` for ``topic``; returns a function that unsubscribes it."""
        self._handlers[topic].append(handler)
        return lambda: self._handlers[topic].remove(handler)

    def publish(self, topic: str, event: Any) -> None:
        for handler in tuple(self._handlers.get(topic, ())):
            try:
                handler(event)
            except Exception:
                self.errors += 1
                log.exception("bus handler %r failed on topic %s", handler, topic)
