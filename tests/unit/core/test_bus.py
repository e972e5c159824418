"""The in-process publish/subscribe bus."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from aigupiao.core.bus import Bus


def test_publish_reaches_subscribers_in_order() -> None:
    bus = Bus()
    calls: list[tuple[str, Any]] = []
    bus.subscribe("quote", lambda e: calls.append(("a", e)))
    bus.subscribe("quote", lambda e: calls.append(("b", e)))
    bus.publish("quote", 1)
    bus.publish("quote", 2)
    assert calls == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert bus.errors == 0


def test_topics_are_separate() -> None:
    bus = Bus()
    quotes: list[Any] = []
    orders: list[Any] = []
    bus.subscribe("quote", quotes.append)
    bus.subscribe("order", orders.append)
    bus.publish("quote", "q")
    bus.publish("order", "o")
    bus.publish("nobody-listens", "x")
    assert quotes == ["q"]
    assert orders == ["o"]


def test_handler_errors_are_counted_and_do_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Bus()
    seen: list[Any] = []

    def broken(event: Any) -> None:
        raise RuntimeError(f"boom {event}")

    bus.subscribe("quote", broken)
    bus.subscribe("quote", seen.append)
    bus.subscribe("quote", broken)
    with caplog.at_level(logging.ERROR, logger="aigupiao.core.bus"):
        bus.publish("quote", 1)  # does not raise
        bus.publish("quote", 2)
    assert seen == [1, 2]
    assert bus.errors == 4
    failures = [r for r in caplog.records if r.name == "aigupiao.core.bus"]
    assert len(failures) == 4
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in failures)
    assert "quote" in failures[0].getMessage()


def test_unsubscribe_stops_delivery() -> None:
    bus = Bus()
    first: list[Any] = []
    second: list[Any] = []
    unsubscribe = bus.subscribe("quote", first.append)
    bus.subscribe("quote", second.append)
    bus.publish("quote", 1)
    unsubscribe()
    bus.publish("quote", 2)
    assert first == [1]
    assert second == [1, 2]


def test_unsubscribe_removes_only_one_registration() -> None:
    bus = Bus()
    seen: list[Any] = []
    unsubscribe = bus.subscribe("quote", seen.append)
    bus.subscribe("quote", seen.append)
    unsubscribe()
    bus.publish("quote", 1)
    assert seen == [1]


def test_subscribing_during_publish_takes_effect_next_time() -> None:
    bus = Bus()
    late: list[Any] = []

    def subscriber(event: Any) -> None:
        if event == 1:
            bus.subscribe("quote", late.append)

    bus.subscribe("quote", subscriber)
    bus.publish("quote", 1)
    assert late == []
    bus.publish("quote", 2)
    assert late == [2]


def test_unsubscribing_during_publish_is_safe() -> None:
    bus = Bus()
    seen: list[Any] = []
    unsubscribers = []

    def once(event: Any) -> None:
        seen.append(("once", event))
        unsubscribers[0]()

    unsubscribers.append(bus.subscribe("quote", once))
    bus.subscribe("quote", lambda e: seen.append(("always", e)))
    bus.publish("quote", 1)
    bus.publish("quote", 2)
    assert seen == [("once", 1), ("always", 1), ("always", 2)]
    assert bus.errors == 0


def test_base_exceptions_are_not_swallowed() -> None:
    bus = Bus()

    def interrupt(event: Any) -> None:
        raise KeyboardInterrupt

    bus.subscribe("quote", interrupt)
    with pytest.raises(KeyboardInterrupt):
        bus.publish("quote", 1)
