"""The risk service on SQLite and PostgreSQL: trading states and limits survive a restart,
every change is audited, bad limits change nothing, replicas see each other's changes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from aigupiao.cloud.services.risk import (
    DAY_START_KEY,
    HIGHS_KEY,
    LIMITS_KEY,
    STATE_KEY,
    InvalidLimits,
    RiskService,
)
from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.risk import RiskLimits, RiskVerdict, TradingState
from aigupiao.store import AuditRepo, Database, SettingRepo

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
PINGAN = parse_symbol("sz000001")
WALL = ManualClock(datetime(2026, 11, 24, 18, 30, tzinfo=BEIJING))


def _quote(last: str = "10.00") -> Quote:
    price = Decimal(last)
    return Quote(
        PINGAN, "平安银行", NOW, price, Decimal("10.00"), price, price, price, 1000,
        price * 1000, bids=(Level(price, 1000),), asks=(Level(price + Decimal("0.01"), 1000),),
        limit_up=Decimal("11.00"), limit_down=Decimal("9.00"),
    )  # fmt: skip


def _account(cash: str = "990000", last: str | None = None) -> Account:
    position = Position(
        PINGAN, 1000, 1000, Decimal("10.00"), None if last is None else Decimal(last)
    )
    return Account("paper-1", cash=Decimal(cash), positions=(position,))


async def _service(db: Database, refresh: float = 1.0) -> RiskService:
    service = RiskService(db, RiskLimits(), wall_clock=WALL, refresh=refresh)
    await service.load()
    return service


async def _audit(db: Database) -> list[dict[str, Any]]:
    async with db.session() as session:
        return list(reversed(await AuditRepo(session).list()))


async def _setting(db: Database, key: str) -> object:
    async with db.session() as session:
        return await SettingRepo(session).get(key)


async def _check(service: RiskService, side: Side = Side.BUY, **kwargs: Any) -> RiskVerdict:
    arguments: dict[str, Any] = {
        "account_id": "paper-1",
        "account": _account(),
        "side": side,
        "quantity": 100,
        "price": Decimal("10.00"),
        "quote": _quote(),
        "quotes": {"sz000001": _quote()},
        "now": NOW,
        **kwargs,
    }
    return await service.check(**arguments)


async def test_a_halt_survives_a_restart_and_is_audited(db: Database) -> None:
    service = await _service(db)
    answer = await service.set_state(
        TradingState.HALTED, account=None, reason="券商维护 maintenance", actor="ops", source="cli"
    )
    assert answer["global"]["state"] == "halted"
    verdict = await _check(service)
    assert verdict.rule == "trading_state"

    restarted = await _service(db)
    record = restarted.gate.global_state
    assert record.state is TradingState.HALTED
    assert (record.reason, record.actor, record.source) == ("券商维护 maintenance", "ops", "cli")
    assert record.changed_at == WALL.now()
    assert (await _check(restarted)).rule == "trading_state"

    (entry,) = await _audit(db)
    assert (entry["actor"], entry["action"], entry["target"]) == ("ops", "risk.state", "global")
    assert entry["detail"] == {
        "from": "active",
        "to": "halted",
        "reason": "券商维护 maintenance",
        "source": "cli",
    }


async def test_account_states_are_kept_apart(db: Database) -> None:
    service = await _service(db)
    await service.set_state(
        TradingState.REDUCING, account="paper-1", reason="r", actor="a", source="api"
    )
    await service.set_state(
        TradingState.HALTED, account="paper-2", reason="h", actor="a", source="api"
    )
    await service.set_state(TradingState.ACTIVE, account=None, reason="", actor="a", source="api")
    restarted = await _service(db)
    states = restarted.describe_states("paper-1")
    assert {k: v["state"] for k, v in states["accounts"].items()} == {
        "paper-1": "reducing",
        "paper-2": "halted",
    }
    assert states["effective"]["state"] == "reducing" and states["global"]["state"] == "active"
    assert (await _check(restarted)).rule == "trading_state"
    assert (await _check(restarted, Side.SELL)).accepted
    targets = [entry["target"] for entry in await _audit(db)]
    assert targets == ["account:paper-1", "account:paper-2", "global"]


async def test_limits_per_account_survive_a_restart_and_are_audited(db: Database) -> None:
    service = await _service(db)
    answer = await service.set_limits(
        {"max_position_size": "0.25", "max_positions": None},
        account="paper-1",
        actor="ops",
        source="api",
    )
    assert answer["limits"]["max_position_size"] == "0.25"
    assert answer["changes"] == {"max_position_size": "0.25", "max_positions": None}
    await service.set_limits({"duplicate_window": 30}, account=None, actor="ops", source="api")

    restarted = await _service(db)
    mine = restarted.gate.limits_for("paper-1")
    assert mine.max_position_size == Decimal("0.25") and mine.max_positions is None
    assert mine.duplicate_window == 30  # the changed default, under the account's own changes
    other = restarted.gate.limits_for("paper-2")
    assert other.max_position_size == Decimal("0.1") and other.duplicate_window == 30
    assert restarted.describe_limits()["defaults"] == RiskLimits().as_dict()

    entries = await _audit(db)
    assert [(e["action"], e["target"]) for e in entries] == [
        ("risk.limits", "account:paper-1"),
        ("risk.limits", "default"),
    ]
    assert entries[0]["detail"] == {
        "changes": {"max_position_size": "0.25", "max_positions": None},
        "reset": False,
        "source": "api",
    }

    await restarted.set_limits({}, account="paper-1", actor="ops", source="api", reset=True)
    assert (await _service(db)).gate.limits_for("paper-1").max_position_size == Decimal("0.1")


async def test_invalid_limits_change_nothing(db: Database) -> None:
    service = await _service(db)
    with pytest.raises(InvalidLimits) as raised:
        await service.set_limits(
            {"max_position_size": "2", "max_orders_per_minute": 0, "bogus": 1},
            account="paper-1",
            actor="ops",
            source="api",
        )
    detail = raised.value.as_dict()
    assert detail["code"] == "invalid_limits"
    assert {e["field"] for e in detail["errors"]} == {
        "max_position_size",
        "max_orders_per_minute",
        "bogus",
    }
    assert await _setting(db, LIMITS_KEY) is None
    assert await _audit(db) == []
    assert service.gate.limits_for("paper-1") == RiskLimits()


async def test_the_daily_loss_limit_turns_the_account_reducing_persisted_and_audited(
    db: Database,
) -> None:
    service = await _service(db)
    assert (await _check(service)).accepted  # starts the day
    assert await _setting(db, DAY_START_KEY) == {
        "paper-1": {"day": "2026-11-24", "equity": "1000000.00"}
    }
    # 1,000 shares from 10.00 to 9.00 and 49,000 less cash: 50,000 lost, 5%.
    crashed = {"sz000001": _quote("9.00")}
    verdict = await _check(
        service, account=_account("941000"), quote=crashed["sz000001"], quotes=crashed,
        price=Decimal("9.00"),
    )  # fmt: skip
    assert verdict.rule == "daily_loss"
    assert verdict.values["state"] == "reducing"

    restarted = await _service(db)
    record = restarted.gate.account_states["paper-1"]
    assert record.state is TradingState.REDUCING and record.source == "daily_loss"
    assert restarted.gate.day_starts["paper-1"].equity == Decimal("1000000.00")
    (entry,) = await _audit(db)
    assert (entry["actor"], entry["target"]) == ("risk", "account:paper-1")
    assert entry["detail"]["to"] == "reducing" and entry["detail"]["source"] == "daily_loss"


async def test_trailing_highs_survive_a_restart(db: Database) -> None:
    service = await _service(db)
    await service.set_limits({"trailing_stop": "0.05"}, account=None, actor="o", source="api")
    up = {"sz000001": _quote("10.80")}
    assert await service.exits("paper-1", _account(), up, NOW) == []
    await service.flush()
    assert await _setting(db, HIGHS_KEY) == {"paper-1": {"sz000001": "10.80"}}
    restarted = await _service(db)
    down = {"sz000001": _quote("10.25")}  # 5.1% below the high kept across the restart
    (signal,) = await restarted.exits("paper-1", _account(), down, NOW)
    assert signal.rule == "trailing_stop" and signal.inputs["high"] == "10.80"


async def test_a_replica_sees_a_halt_made_on_another(db: Database) -> None:
    one, two = await _service(db), await _service(db, refresh=0.0)
    assert (await _check(two)).accepted
    await one.set_state(TradingState.HALTED, account=None, reason="", actor="a", source="api")
    verdict = await _check(two, quantity=200)
    assert verdict.rule == "trading_state"
    assert await _setting(db, STATE_KEY) is not None
