"""The agent over HTTP on a real stack (cloud + node + paper broker): per-account strategy
control that survives a restart, user strategy files reloaded without one, failures that
never stop the agent, rounds on bar closes, and the decision log telling the whole story."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from aigupiao.cloud.services.strategies import StrategyBook
from aigupiao.core.clock import ManualClock
from aigupiao.store import AuditRepo, Database

from ..conftest import eventually
from .stack import SIM_DAY, running_stack

STATUS = "/api/agent/status"
STRATEGIES = "/api/agent/strategies"

# Buys one lot of sz000001 at market every round, with a target weight or a quantity.
EVERY_ROUND = '''
from decimal import Decimal

from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal


class EveryRound:
    """每轮买入平安银行一手 (buys a lot of sz000001 every round)."""

    name = "every_round"

    def evaluate(self, context):
        quote = context.quotes.get("sz000001")
        if quote is None:
            return []
        return [Signal(symbol=quote.symbol, side=Side.BUY, quantity=100, price=None,
                       reason="测试 (test)", inputs={"last": str(quote.last)},
                       confidence=0.25)]
'''

BROKEN_AT_RUN = """
class Explodes:
    name = "explodes"

    def evaluate(self, context):
        raise ZeroDivisionError("boom in user code")
"""


async def _json(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


async def test_strategy_settings_are_validated_audited_and_kept(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    async with running_stack(tmp_path, db_url=url) as stack, stack.client() as client:
        items = _by_name(await _json(await client.get(STRATEGIES)))  # the only node's account
        assert items["dip_buy"]["enabled"] and items["stop_loss"]["enabled"]
        assert not items["momentum"]["enabled"] and not items["llm"]["enabled"]
        dip = items["dip_buy"]
        assert dip["source"] == "builtin" and dip["title"] == "跌幅买入"
        assert dip["title_en"] and "-5%" in dip["description"]
        assert dip["params"]["threshold"] == "-0.05" and dip["params"]["quantity"] == 100
        threshold = dip["param_schema"]["properties"]["threshold"]
        assert threshold["anyOf"][0]["exclusiveMaximum"] == 0

        bad = await client.put(
            f"{STRATEGIES}/dip_buy", params={"account": "paper-1"},
            json={"params": {"threshold": "0.05", "quantity": 100}},
        )  # fmt: skip
        detail = (await _json(bad, 422))["detail"]
        assert detail["code"] == "invalid_params"
        assert "threshold" in detail["message"] and "threshold" in detail["message_en"]
        assert detail["errors"][0]["loc"] == ["threshold"]
        unknown = await client.put(f"{STRATEGIES}/momentum", json={"params": {"nope": 1}})
        assert (await _json(unknown, 422))["detail"]["errors"][0]["loc"] == ["nope"]
        missing = await client.put(f"{STRATEGIES}/no_such", json={"enabled": True})
        assert (await _json(missing, 404))["detail"]["code"] == "not_found"
        after = _by_name(await _json(await client.get(STRATEGIES)))
        assert after["dip_buy"]["params"]["threshold"] == "-0.05"  # nothing changed
        assert not after["momentum"]["enabled"]

        momentum = await _json(
            await client.put(f"{STRATEGIES}/momentum", json={"enabled": True, "params": {"top": 3}})
        )
        assert momentum["enabled"] and not momentum["paused"] and momentum["params"]["top"] == 3
        paused = await _json(await client.put(f"{STRATEGIES}/dip_buy", json={"paused": True}))
        assert paused["enabled"] and paused["paused"]
        status = await _json(await client.get(STATUS))
        (account,) = status["accounts"]
        assert account["account"] == "paper-1"
        assert "momentum" in account["active"] and "dip_buy" not in account["active"]
        assert "stop_loss" in account["active"]

        async with stack.cloud.db.session() as session:
            audit = [e for e in await AuditRepo(session).list() if e["action"] == "agent.strategy"]
        assert [e["target"] for e in reversed(audit)] == [
            "account:paper-1/strategy:momentum",
            "account:paper-1/strategy:dip_buy",
        ]
        assert {e["actor"] for e in audit} == {"apikey:test"}
        assert audit[-1]["detail"]["params"] == {"top": 3}

    # A new process on the same database: the changes are still there.
    db = Database(url)
    try:
        book = StrategyBook(
            db, ManualClock(datetime.now(UTC)), defaults={}, paths=[], prepare=lambda s: None
        )
        kept = _by_name(await book.describe("paper-1"))
        assert kept["momentum"]["enabled"] and kept["momentum"]["params"]["top"] == 3
        assert kept["dip_buy"]["paused"] and not kept["breakout"]["enabled"]
        assert [s.name for s in book.active("paper-1")] == ["stop_loss", "momentum"]
    finally:
        await db.dispose()


async def test_user_strategy_files_load_reload_and_fail_alone(tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "every.py").write_text(EVERY_ROUND)
    (folder / "broken.py").write_text("def oops(:\n")
    (folder / "explodes.py").write_text(BROKEN_AT_RUN)
    agent = {"strategy_paths": [str(folder)]}
    async with (
        running_stack(tmp_path, agent={"enabled": True, **agent}) as stack,
        stack.client() as client,
    ):
        status = await _json(await client.get(STATUS))
        assert (
            "every_round" in status["strategies_loaded"]
            and "explodes" in status["strategies_loaded"]
        )
        assert "dip_buy" in status["strategies_loaded"]
        load_errors = [e for e in status["errors"] if e["strategy"].endswith("broken.py")]
        assert load_errors and "SyntaxError" in load_errors[0]["message"]

        # The strategy that raises is logged and recorded, every round; the others go on.
        async def failures_and_decisions() -> bool:
            current = await _json(await client.get(STATUS))
            made = await _json(
                await client.get("/api/decisions", params={"strategy": "every_round"})
            )
            return current["failures"].get("explodes", 0) >= 2 and len(made) >= 2

        await eventually(failures_and_decisions, timeout=30)
        status = await _json(await client.get(STATUS))
        assert status["running"] and status["rounds"] >= 2 and status["interval_s"] == 0.5
        assert status["last_run_at"] and status["last_duration_ms"] >= 0
        boom = next(e for e in status["errors"] if e["strategy"] == "explodes")
        assert "ZeroDivisionError" in boom["message"] and "boom in user code" in boom["message"]
        items = _by_name(await _json(await client.get(STRATEGIES)))
        assert items["every_round"]["source"] == str((folder / "every.py").resolve())
        assert items["every_round"]["enabled"] and items["every_round"]["param_schema"] == {}
        no_params = await client.put(f"{STRATEGIES}/every_round", json={"params": {"x": 1}})
        assert (await _json(no_params, 422))["detail"]["code"] == "invalid_params"

        # Fix the broken file, add one, drop one: reloaded without a restart.
        (folder / "broken.py").write_text(EVERY_ROUND.replace("every_round", "fixed_now"))
        (folder / "explodes.py").unlink()
        reloaded = await _json(await client.post("/api/agent/reload"))
        assert reloaded["errors"] == []
        assert set(reloaded["loaded"]) == {"every_round", "fixed_now"}
        (folder / "third.py").write_text(
            "class Bad:\n    name = 'every_round'\n"
            "    def evaluate(self, context):\n        return []\n"
        )
        clash = await _json(await client.post("/api/agent/reload"))
        assert [e["file"] for e in clash["errors"]] == [str((folder / "third.py").resolve())]
        assert "already taken" in clash["errors"][0]["error"]
        assert set(clash["loaded"]) == {"every_round", "fixed_now"}  # the others still run

        async def fixed_decides() -> list[dict[str, Any]]:
            return await _json(  # type: ignore[no-any-return]
                await client.get("/api/decisions", params={"strategy": "fixed_now"})
            )

        await eventually(fixed_decides, timeout=20)
        status = await _json(await client.get(STATUS))
        (account,) = status["accounts"]
        assert "explodes" not in account["active"] and "fixed_now" in account["active"]

        # Pausing a user strategy stops its decisions at once.
        assert (await _json(await client.put(f"{STRATEGIES}/fixed_now", json={"paused": True})))[
            "paused"
        ]
        before = len(await fixed_decides())
        rounds = (await _json(await client.get(STATUS)))["rounds"]

        async def two_more_rounds() -> bool:
            return (await _json(await client.get(STATUS)))["rounds"] >= rounds + 2

        await eventually(two_more_rounds, timeout=20)
        assert len(await fixed_decides()) == before

        async with stack.cloud.db.session() as session:
            audit = [e for e in await AuditRepo(session).list() if e["action"] == "agent.reload"]
        assert len(audit) == 2 and audit[0]["actor"] == "apikey:test"


async def test_a_bar_close_starts_a_round_without_waiting_for_the_interval(
    tmp_path: Path,
) -> None:
    async with (
        running_stack(tmp_path, agent={"enabled": True, "decision_interval": 3600}) as stack,
        stack.client() as client,
    ):
        status = await _json(await client.get(STATUS))
        assert status["running"] and status["rounds"] == 0
        quote = stack.sim.latest("sz000001")
        assert quote is not None
        later = quote.ts + timedelta(minutes=1)
        stack.cloud.bars.on_quotes([replace(quote, ts=later)])
        stack.cloud.bars.on_quotes([replace(quote, ts=later + timedelta(minutes=1))])

        async def ran() -> dict[str, Any] | None:
            current: dict[str, Any] = await _json(await client.get(STATUS))
            return current if current["rounds"] >= 1 else None

        status = await eventually(ran, timeout=10)
        assert status["last_trigger"] == "bar_close"


async def test_the_decision_log_tells_the_whole_story(tmp_path: Path) -> None:
    async with (
        running_stack(tmp_path, agent={"enabled": True}) as stack,
        stack.client() as client,
    ):

        async def filled() -> list[dict[str, Any]]:
            rows = await _json(await client.get("/api/decisions", params={"verdict": "accepted"}))
            return [d for d in rows if d["outcome"] == "filled"]

        decision = (await eventually(filled, timeout=30))[0]
        assert decision["action"] == decision["side"] == "buy"
        assert decision["code"] == decision["symbol"] and decision["strategy"] == "dip_buy"
        assert decision["account"] == "paper-1" and decision["confidence"] == 1.0

        story = await _json(await client.get(f"/api/decisions/{decision['id']}"))
        assert story["id"] == decision["id"] and story["verdict"] == "accepted"
        assert Decimal(story["inputs"]["change_pct"]) < -5
        assert "risk_values" not in story["inputs"] and "confidence" not in story["inputs"]
        assert story["risk"]["verdict"] == "accepted" and story["risk"]["rule"] is None
        command = story["command"]
        assert command["id"] == decision["command_id"] and command["status"] == "done"
        assert command["data"]["decision_id"] == decision["id"]
        outcome = story["outcome"]
        assert outcome["status"] == "filled" and outcome["filled_quantity"] == 100
        assert Decimal(str(outcome["avg_price"])) > 0
        kinds = [e["kind"] for e in story["events"]]
        assert kinds[:3] == ["decision", "risk", "command_issued"]
        assert "order" in kinds and "fill" in kinds and "command_finished" in kinds
        fill = next(e for e in story["events"] if e["kind"] == "fill")
        assert fill["detail"]["quantity"] == 100

        # Halted: the next decisions are refused, with the rule, its values and both texts.
        halt = {"state": "halted", "reason": "测试 test"}
        assert (await client.put("/api/risk/state", json=halt)).status_code == 200

        async def refused() -> list[dict[str, Any]]:
            return await _json(  # type: ignore[no-any-return]
                await client.get("/api/decisions", params={"verdict": "rejected"})
            )

        rejected = (await eventually(refused, timeout=30))[0]
        assert rejected["outcome"] is None and rejected["command_id"] is None
        story = await _json(await client.get(f"/api/decisions/{rejected['id']}"))
        risk = story["risk"]
        assert risk["verdict"] == "rejected" and risk["rule"] == "trading_state"
        assert risk["values"]["state"] == "halted"
        assert "交易已暂停" in risk["message"] and "halted" in risk["message_en"]
        assert story["command"] is None and story["outcome"] is None
        assert [e["kind"] for e in story["events"]] == ["decision", "risk"]

        # Filters and paging.
        everything = await _json(await client.get("/api/decisions", params={"limit": 5000}))
        assert len(everything) >= 2
        assert everything == sorted(everything, key=lambda d: (d["ts"], d["id"]), reverse=True)
        first = await _json(await client.get("/api/decisions", params={"limit": 1}))
        second = await _json(
            await client.get("/api/decisions", params={"limit": 1, "before_id": first[0]["id"]})
        )
        assert [first[0]["id"], second[0]["id"]] == [d["id"] for d in everything[:2]]
        code = decision["code"]
        by_code = await _json(await client.get("/api/decisions", params={"code": code[2:]}))
        assert by_code and {d["code"] for d in by_code} == {code}
        assert await _json(await client.get("/api/decisions", params={"account": "other"})) == []
        assert await _json(await client.get("/api/decisions", params={"strategy": "nope"})) == []
        ts = datetime.fromisoformat(decision["ts"])
        window = {"since": ts.isoformat(), "until": (ts + timedelta(microseconds=1)).isoformat()}
        assert decision["id"] in {
            d["id"] for d in await _json(await client.get("/api/decisions", params=window))
        }
        later = {"since": (ts + timedelta(days=1)).isoformat()}
        assert await _json(await client.get("/api/decisions", params=later)) == []
        naive = {"until": datetime.combine(SIM_DAY, datetime.min.time()).isoformat()}
        assert await _json(await client.get("/api/decisions", params=naive)) == []
        bad = await client.get("/api/decisions", params={"verdict": "maybe"})
        assert (await _json(bad, 422))["detail"]["code"] == "invalid_request"
        assert (
            await _json(await client.get("/api/decisions", params={"before_id": "unknown"})) == []
        )
        missing = await client.get("/api/decisions/unknown")
        assert (await _json(missing, 404))["detail"]["code"] == "not_found"


PROBE = """
import gc
from pathlib import Path

MARKER = Path({marker!r})


class Probe:
    name = "probe"
    collector_on = []

    def evaluate(self, context):
        Probe.collector_on.append(gc.isenabled())
        raise RuntimeError("probe fails")

    async def aclose(self):
        with MARKER.open("a") as marker:
            marker.write("closed\\n")
"""


async def test_rounds_pause_the_collector_and_strategies_are_closed(tmp_path: Path) -> None:
    folder, marker = tmp_path / "strategies", tmp_path / "closed.txt"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE.format(marker=str(marker)))
    agent = {"enabled": False, "strategy_paths": [str(folder)]}
    async with running_stack(tmp_path, agent=agent) as stack, stack.client() as client:
        runner = stack.cloud.agent
        assert gc.isenabled()
        await runner.tick()  # the agent task is off: one round by hand
        (probe,) = [s for s in runner.book.active("paper-1") if s.name == "probe"]
        assert type(probe).collector_on == [False]  # type: ignore[attr-defined]
        assert gc.isenabled()  # back on, although the strategy raised
        status = await _json(await client.get(STATUS))
        assert not status["running"] and status["rounds"] == 1
        assert status["failures"] == {"probe": 1}
        assert status["errors"][0]["message"] == "RuntimeError: probe fails"

        # Disabling a strategy closes it; so does stopping the cloud.
        off = await client.put(f"{STRATEGIES}/probe", json={"enabled": False})
        assert not (await _json(off))["enabled"]
        assert marker.read_text() == "closed\n"
        on = await client.put(f"{STRATEGIES}/probe", json={"enabled": True})
        assert (await _json(on))["enabled"]
    assert marker.read_text() == "closed\nclosed\n"
