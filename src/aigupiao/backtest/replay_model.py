"""What the live-versus-backtest replay is given and what it answers (typed, frozen).

:class:`ReplaySettings` is what the replay takes from the config; :class:`ReplayResult`
holds the comparison: each :class:`Difference` with the two :class:`DecisionView` sides,
its :class:`Reason` and texts in Chinese and English. ``as_json`` gives prices as strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from aigupiao.risk import RiskLimits


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """What the live agent takes from the config: the built-ins' base params (the
    ``agent`` section's dip-buy and stop-loss), the user strategy files, the default risk
    limits; and how late a quote must be to count as late (market seconds)."""

    strategy_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    strategy_paths: Sequence[Path] = ()
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    late_after: float = 2.0


class Reason(StrEnum):
    NODE_OFFLINE = "node_offline"  # no node: the live agent did not decide, or refused
    BROKER_REFUSED = "broker_refused"  # the live order was refused, failed or expired
    COMMAND_UNKNOWN = "command_unknown"  # the live order's outcome stayed unknown
    LATE_QUOTE = "late_quote"  # a quote live saw too late
    FILL_PRICE = "fill_price"  # live filled at another price than the replay
    GATE = "gate"  # the risk gate judged the same proposal differently
    FOLLOWS = "follows"  # follows from an earlier difference
    COARSE_QUOTES = "coarse_quotes"  # only 1-minute bars were stored
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DecisionView:
    """One side of a compared decision."""

    strategy: str
    side: str
    quantity: int
    price: Decimal | None
    accepted: bool
    rule: str | None
    message: str | None = None
    decision_id: str | None = None  # the live decision's id

    def as_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "side": self.side, "quantity": self.quantity,
            "price": None if self.price is None else str(self.price),
            "accepted": self.accepted, "rule": self.rule, "message": self.message,
            "decision_id": self.decision_id,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Difference:
    """A decision live and replay did not make alike. ``kind``: ``live_only``,
    ``replay_only`` or ``changed`` (``fields`` names what differs); ``reason`` is the
    nearest known cause, ``root`` the first cause of a chain (itself when direct)."""

    ts: datetime
    code: str
    strategy: str
    kind: str
    live: DecisionView | None
    replay: DecisionView | None
    fields: tuple[str, ...]
    reason: Reason
    reason_zh: str
    reason_en: str
    root: Reason

    def as_json(self) -> dict[str, Any]:
        return {
            "ts": self.ts.isoformat(), "code": self.code, "strategy": self.strategy,
            "kind": self.kind, "fields": list(self.fields),
            "live": None if self.live is None else self.live.as_json(),
            "replay": None if self.replay is None else self.replay.as_json(),
            "reason": self.reason.value, "reason_zh": self.reason_zh,
            "reason_en": self.reason_en, "root": self.root.value,
        }  # fmt: skip


@dataclass(slots=True)
class ReplayResult:
    account: str
    day: date
    quote_source: str  # raw / bars
    moments_source: str  # rounds / decisions_and_bars
    moments: int
    live_decisions: int
    replay_decisions: int
    matched: int
    differences: list[Difference]
    offline: list[tuple[datetime, datetime]]  # when live did not trade the account
    not_replayed: int  # live decisions at no replayed moment (manual orders)
    warnings: list[str]
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account, "date": self.day.isoformat(),
            "quote_source": self.quote_source, "moments_source": self.moments_source,
            "moments": self.moments, "live_decisions": self.live_decisions,
            "replay_decisions": self.replay_decisions, "matched": self.matched,
            "differences": [d.as_json() for d in self.differences],
            "offline": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in self.offline],
            "not_replayed": self.not_replayed, "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }  # fmt: skip
