"""Agent decisions and the commands sent to local nodes.

A command's lifecycle is validated against ``COMMAND_TRANSITIONS``:
``pending -> sent -> acked -> done | rejected | failed | expired | unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .orders import Side
from .states import next_state
from .symbols import Symbol


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a strategy wants, why, and what the risk gate said."""

    id: str
    strategy: str
    account: str
    symbol: Symbol
    side: Side
    quantity: int
    price: Decimal | None  # None = market
    reason: str
    inputs: dict[str, Any]
    ts: datetime
    verdict: Verdict | None = None
    rule: str | None = None  # the risk rule that failed, if rejected
    risk_message: str | None = None
    command_id: str | None = None


class CommandType(StrEnum):
    TRADE = "trade"
    CANCEL = "cancel"
    EXPORT = "export"
    STATUS = "status"


class CommandStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACKED = "acked"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_COMMAND


_FINAL_COMMAND = {
    CommandStatus.DONE,
    CommandStatus.REJECTED,
    CommandStatus.FAILED,
    CommandStatus.EXPIRED,
}

_C = CommandStatus
_OUTCOMES = (_C.DONE, _C.REJECTED, _C.FAILED, _C.EXPIRED, _C.UNKNOWN)
COMMAND_TRANSITIONS: dict[tuple[CommandStatus, str], CommandStatus] = {
    (_C.PENDING, "send"): _C.SENT,
    (_C.PENDING, "fail"): _C.FAILED,  # no node to send it to
    (_C.PENDING, "expire"): _C.EXPIRED,
    (_C.SENT, "send"): _C.SENT,  # re-sent after a reconnect
    (_C.SENT, "ack"): _C.ACKED,
    (_C.SENT, "expire"): _C.EXPIRED,
    # Re-sent as often as allowed and never acked: stop re-sending (only from sent, so
    # an ack that arrives meanwhile wins).
    (_C.SENT, "give_up"): _C.UNKNOWN,
    (_C.ACKED, "ack"): _C.ACKED,  # duplicate ack after a re-send
    # A response may overtake its ack, so results are accepted from sent and acked.
    **{(_C.SENT, s.value): s for s in _OUTCOMES},
    **{(_C.ACKED, s.value): s for s in _OUTCOMES},
    # unknown is resolved later by the node querying its broker
    **{(_C.UNKNOWN, s.value): s for s in _OUTCOMES if s is not _C.UNKNOWN},
}


def next_command_status(status: CommandStatus, trigger: str) -> CommandStatus:
    return next_state(COMMAND_TRANSITIONS, status, trigger, "指令/command")


@dataclass(frozen=True, slots=True)
class Command:
    """A command for a local node. ``id`` is the idempotency key."""

    id: str
    type: CommandType
    node_id: str
    data: dict[str, Any]
    issued_at: datetime
    expires_at: datetime
    status: CommandStatus = CommandStatus.PENDING
    result: dict[str, Any] | None = field(default=None)
