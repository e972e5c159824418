"""A tiny transition-table helper shared by every state machine in the domain."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from .errors import IllegalTransition

S = TypeVar("S", bound=Enum)


def next_state(table: Mapping[tuple[S, str], S], state: S, trigger: str, what: str) -> S:
    """Look up ``(state, trigger)``; raise :class:`IllegalTransition` if the table forbids it."""
    try:
        return table[(state, trigger)]
    except KeyError:
        raise IllegalTransition(
            f"{what}状态 {state.value} 不允许 {trigger}",
            f"{what} in state {state.value} does not allow {trigger}",
        ) from None
