"""The audit log tells the truth about who, from where and when: its time is the wall
clock (not the simulated market's, which runs on another day), and its ``source`` is the
server's to say from the caller, never the request body's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from aigupiao.domain.users import Role
from aigupiao.store import AuditRepo, UserRepo

from ..integration.stack import SIM_DAY, Stack, running_stack

STRATEGIES = "/api/agent/strategies"


async def _audit(stack: Stack, action: str) -> list[dict[str, Any]]:
    async with stack.cloud.db.session() as session:
        return await AuditRepo(session).list(action=action)


async def test_strategy_and_risk_changes_are_stamped_with_wall_time(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        assert stack.cloud.clock.now().date() == SIM_DAY  # the market lives on another day
        before = datetime.now(UTC)
        paused = await client.put(
            f"{STRATEGIES}/dip_buy", params={"account": "paper-1"}, json={"paused": True}
        )
        assert paused.status_code == 200, paused.text
        assert (await client.post("/api/agent/reload")).status_code == 200
        limits = {"limits": {"max_orders_per_minute": 20}}
        assert (await client.put("/api/risk/limits", json=limits)).status_code == 200
        halted = await client.put("/api/risk/state", json={"state": "halted", "reason": "t"})
        assert halted.status_code == 200
        after = datetime.now(UTC)
        entries = [
            entry
            for action in ("agent.strategy", "agent.reload", "risk.limits", "risk.state")
            for entry in await _audit(stack, action)
        ]
        assert len(entries) == 4
        for entry in entries:
            assert before - timedelta(seconds=1) <= entry["ts"] <= after, entry


async def test_the_source_of_a_change_comes_from_the_caller_not_the_body(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as key:
        async with stack.cloud.db.session() as session:
            await UserRepo(session).add("tom", "tom-password", Role.TRADER)
            await session.commit()
        async with httpx.AsyncClient(base_url=stack.cloud_url) as person:
            login = {"username": "tom", "password": "tom-password"}
            assert (await person.post("/api/auth/login", json=login)).status_code == 200

            # A body that claims a source is refused, whoever sends it.
            for client in (key, person):
                for path, body in (
                    ("/api/risk/state", {"state": "halted", "source": "cli"}),
                    ("/api/risk/limits", {"limits": {}, "source": "dashboard"}),
                ):
                    claimed = await client.put(path, json=body)
                    assert claimed.status_code == 422, claimed.text
                    assert "source" in claimed.json()["detail"]["message"]
            assert (await _audit(stack, "risk.*")) == []

            limits = {"limits": {"max_orders_per_minute": 20}}
            assert (await key.put("/api/risk/state", json={"state": "reducing"})).is_success
            assert (await person.put("/api/risk/state", json={"state": "active"})).is_success
            assert (await person.put("/api/risk/limits", json=limits)).is_success
            assert (await key.put("/api/risk/limits", json=limits)).is_success

        recorded = [
            (entry["actor"], entry["action"], entry["detail"]["source"])
            for entry in reversed(await _audit(stack, "risk.*"))
        ]
        assert recorded == [
            ("apikey:test", "risk.state", "api"),
            ("user:tom", "risk.state", "dashboard"),
            ("user:tom", "risk.limits", "dashboard"),
            ("apikey:test", "risk.limits", "api"),
        ]
        states = (await key.get("/api/risk/state")).json()
        assert states["global"]["source"] == "dashboard"
