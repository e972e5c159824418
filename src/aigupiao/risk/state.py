"""The trading state: ACTIVE, REDUCING (exits only) or HALTED (nothing), the kill switch.

There is one global state and one per account; an order obeys the stricter of the
two. Any state may follow any other; each change records who made it, from where
(the API, the CLI, the dashboard, or the gate itself) and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from aigupiao.domain.orders import Side


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"  # exits only
    HALTED = "halted"  # nothing

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def label_zh(self) -> str:
        return _LABELS[self]

    def allows(self, side: Side) -> bool:
        """Whether an order on ``side`` may pass in this state (sells are the exits)."""
        return self is TradingState.ACTIVE or (self is TradingState.REDUCING and side is Side.SELL)


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
_LABELS = {
    TradingState.ACTIVE: "正常交易",
    TradingState.REDUCING: "仅允许减仓",
    TradingState.HALTED: "暂停交易",
}

# Where a change came from, besides the callers' own labels (api, cli, dashboard).
SOURCE_CONFIG = "config"
SOURCE_DAILY_LOSS = "daily_loss"  # the gate itself, when the daily loss limit is hit


@dataclass(frozen=True, slots=True)
class StateRecord:
    """A trading state with who set it, from where, when and why."""

    state: TradingState = TradingState.ACTIVE
    reason: str = ""
    actor: str = "system"
    source: str = SOURCE_CONFIG
    changed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "actor": self.actor,
            "source": self.source,
            "changed_at": None if self.changed_at is None else self.changed_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StateRecord:
        changed = data.get("changed_at")
        return cls(
            state=TradingState(data["state"]),
            reason=str(data.get("reason") or ""),
            actor=str(data.get("actor") or "system"),
            source=str(data.get("source") or SOURCE_CONFIG),
            changed_at=datetime.fromisoformat(changed) if changed else None,
        )

    def with_state(
        self, state: TradingState, *, reason: str, actor: str, source: str, at: datetime
    ) -> StateRecord:
        return replace(self, state=state, reason=reason, actor=actor, source=source, changed_at=at)


ACTIVE = StateRecord()


def strictest(first: StateRecord, second: StateRecord) -> StateRecord:
    """The record with the stricter state (the first on a tie)."""
    return second if second.state.severity > first.state.severity else first
