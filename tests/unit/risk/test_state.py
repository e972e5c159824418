"""Trading states: what each lets through, which is stricter, and their stored form."""

from __future__ import annotations

from datetime import UTC, datetime

from aigupiao.domain.orders import Side
from aigupiao.risk import StateRecord, TradingState
from aigupiao.risk.state import strictest


def test_what_each_state_lets_through() -> None:
    assert TradingState.ACTIVE.allows(Side.BUY) and TradingState.ACTIVE.allows(Side.SELL)
    assert not TradingState.REDUCING.allows(Side.BUY)
    assert TradingState.REDUCING.allows(Side.SELL)
    assert not TradingState.HALTED.allows(Side.BUY)
    assert not TradingState.HALTED.allows(Side.SELL)


def test_strictest() -> None:
    active, reducing, halted = (StateRecord(state) for state in TradingState)
    assert strictest(active, halted) is halted
    assert strictest(halted, reducing) is halted
    assert strictest(reducing, active) is reducing
    assert strictest(active, StateRecord()) is active  # the first on a tie


def test_stored_form_round_trips() -> None:
    record = StateRecord(
        TradingState.HALTED,
        reason="券商维护 broker maintenance",
        actor="ops",
        source="cli",
        changed_at=datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
    )
    data = record.as_dict()
    assert data == {
        "state": "halted",
        "reason": "券商维护 broker maintenance",
        "actor": "ops",
        "source": "cli",
        "changed_at": "2026-11-24T02:00:00+00:00",
    }
    assert StateRecord.from_dict(data) == record
    assert StateRecord.from_dict({"state": "active"}) == StateRecord()


def test_labels_are_chinese() -> None:
    assert TradingState.HALTED.label_zh == "暂停交易"
    assert TradingState.REDUCING.label_zh == "仅允许减仓"
