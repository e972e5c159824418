"""Decisions, commands and the command status machine."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from aigupiao.domain.decisions import (
    COMMAND_TRANSITIONS,
    Command,
    CommandStatus,
    CommandType,
    Decision,
    Verdict,
    next_command_status,
)
from aigupiao.domain.errors import IllegalTransition
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol

C = CommandStatus
OUTCOME_TRIGGERS = ("done", "rejected", "failed", "expired", "unknown")
TRIGGERS = ("send", "ack", "fail", "expire", "give_up", *OUTCOME_TRIGGERS)

# The specification, written out independently of COMMAND_TRANSITIONS.
EXPECTED: dict[tuple[CommandStatus, str], CommandStatus] = {
    (C.PENDING, "send"): C.SENT,
    (C.PENDING, "fail"): C.FAILED,
    (C.PENDING, "expire"): C.EXPIRED,
    (C.SENT, "send"): C.SENT,
    (C.SENT, "ack"): C.ACKED,
    (C.SENT, "expire"): C.EXPIRED,
    (C.SENT, "give_up"): C.UNKNOWN,  # never acked after retry_attempts re-sends
    (C.SENT, "done"): C.DONE,
    (C.SENT, "rejected"): C.REJECTED,
    (C.SENT, "failed"): C.FAILED,
    (C.SENT, "expired"): C.EXPIRED,
    (C.SENT, "unknown"): C.UNKNOWN,
    (C.ACKED, "ack"): C.ACKED,
    (C.ACKED, "done"): C.DONE,
    (C.ACKED, "rejected"): C.REJECTED,
    (C.ACKED, "failed"): C.FAILED,
    (C.ACKED, "expired"): C.EXPIRED,
    (C.ACKED, "unknown"): C.UNKNOWN,
    (C.UNKNOWN, "done"): C.DONE,
    (C.UNKNOWN, "rejected"): C.REJECTED,
    (C.UNKNOWN, "failed"): C.FAILED,
    (C.UNKNOWN, "expired"): C.EXPIRED,
}


def test_table_matches_the_specification() -> None:
    assert COMMAND_TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("status", "trigger"), list(itertools.product(CommandStatus, TRIGGERS)))
def test_every_status_trigger_pair(status: CommandStatus, trigger: str) -> None:
    expected = EXPECTED.get((status, trigger))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            next_command_status(status, trigger)
        assert info.value.code == "illegal_transition"
        assert "指令" in info.value.message_zh
        assert f"in state {status.value} does not allow {trigger}" in info.value.message_en
    else:
        assert next_command_status(status, trigger) is expected


def test_happy_path_pending_sent_acked_done() -> None:
    status = C.PENDING
    for trigger, expected in (("send", C.SENT), ("ack", C.ACKED), ("done", C.DONE)):
        status = next_command_status(status, trigger)
        assert status is expected
    assert status.is_final


def test_resend_and_duplicate_ack_are_idempotent() -> None:
    status = next_command_status(C.PENDING, "send")
    status = next_command_status(status, "send")
    assert status is C.SENT
    status = next_command_status(status, "ack")
    assert next_command_status(status, "ack") is C.ACKED


def test_response_overtaking_its_ack() -> None:
    assert next_command_status(C.SENT, "done") is C.DONE
    assert next_command_status(C.SENT, "rejected") is C.REJECTED


def test_unknown_is_resolved_later() -> None:
    status = next_command_status(next_command_status(C.PENDING, "send"), "unknown")
    assert status is C.UNKNOWN
    assert not status.is_final
    assert next_command_status(status, "done") is C.DONE
    with pytest.raises(IllegalTransition):
        next_command_status(status, "unknown")


@pytest.mark.parametrize("final", [C.DONE, C.REJECTED, C.FAILED, C.EXPIRED])
def test_final_statuses_allow_nothing(final: CommandStatus) -> None:
    assert final.is_final
    for trigger in TRIGGERS:
        with pytest.raises(IllegalTransition):
            next_command_status(final, trigger)


def test_only_done_rejected_failed_expired_are_final() -> None:
    assert {s for s in CommandStatus if s.is_final} == {C.DONE, C.REJECTED, C.FAILED, C.EXPIRED}


def test_unknown_trigger_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        next_command_status(C.PENDING, "teleport")


def test_command_defaults() -> None:
    issued = datetime(2026, 9, 14, 9, 30)
    command = Command(
        id="cmd-1",
        type=CommandType.TRADE,
        node_id="node-1",
        data={"symbol": "sh600519"},
        issued_at=issued,
        expires_at=issued + timedelta(seconds=30),
    )
    assert command.status is C.PENDING
    assert command.result is None
    assert CommandType("cancel") is CommandType.CANCEL
    with pytest.raises(AttributeError):
        command.status = C.SENT  # type: ignore[misc]


def test_decision_defaults() -> None:
    decision = Decision(
        id="d-1",
        strategy="ma_cross",
        account="acc-1",
        symbol=parse_symbol("600519"),
        side=Side.BUY,
        quantity=100,
        price=Decimal("1500.00"),
        reason="golden cross",
        inputs={"ma5": "1490", "ma20": "1480"},
        ts=datetime(2026, 9, 14, 10, 0),
    )
    assert decision.verdict is None
    assert decision.rule is None
    assert decision.risk_message is None
    assert decision.command_id is None
    assert Verdict("accepted") is Verdict.ACCEPTED
    assert Verdict.REJECTED == "rejected"
