"""One decision pipeline (issue 13, item 12): kill -9 the cloud between storing a decision
and its command, for the agent and for a manual order, and find no decision without its
command and no command without its decision; a command stored before the crash is sent
after it and runs once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import ROOT, wait_until
from .crash_at import POINTS
from .test_crash import FINAL, NODE_KEY, TRADE, Deployment

pytestmark = pytest.mark.e2e

EXECUTE = "/api/cloud-local-trading/execute-trade"
KILLED = -9  # Popen.returncode of a process ended by SIGKILL


class CrashingDeployment(Deployment):
    """A cloud (started through ``tests.e2e.crash_at``) and a node; the agent buys a dip
    of any size (every stock below its previous close) when ``agent`` is on."""

    def __init__(self, tmp: Path, *, agent: bool) -> None:
        super().__init__(tmp, latency=0.0)
        self.set_agent(agent)

    def __enter__(self) -> CrashingDeployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_agent(self, enabled: bool) -> None:
        config = json.loads(self.cloud_config.read_text())
        config["agent"] = {"enabled": enabled, "decision_interval": 0.5,
                           "dip_threshold": "-0.00001"}  # fmt: skip
        config["market"] = {"sim_interval": 0.2}
        self.cloud_config.write_text(json.dumps(config))

    def start_crashing_cloud(self, point: str) -> None:
        log = (self.tmp / f"cloud-crash-{len(self.logs)}.log").open("w")
        self.logs.append(log)
        self.cloud = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.crash_at", point, "cloud",
             "--config", str(self.cloud_config)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_killed(self) -> None:
        assert self.cloud is not None
        self.cloud.wait(timeout=90)
        assert self.cloud.returncode == KILLED, self.read_logs()

    def read_logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.tmp.glob("*.log")))


def _stored(client: httpx.Client) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accepted decisions and trade commands, each checked to have the other."""
    decisions = client.get("/api/decisions", params={"verdict": "accepted", "limit": 500}).json()
    commands = [
        c for c in client.get("/api/commands", params={"limit": 500}).json() if c["type"] == "trade"
    ]
    by_id = {command["id"]: command for command in commands}
    for decision in decisions:
        command = by_id.get(decision["command_id"])
        assert command is not None, f"accepted decision {decision['id']} has no command"
        assert command["decision_id"] == decision["id"]
    decided = {decision["id"] for decision in decisions}
    for command in commands:
        assert command["decision_id"] in decided, f"command {command['id']} has no decision"
    return decisions, commands


def _all_final(client: httpx.Client, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def final() -> list[dict[str, Any]] | None:
        rows = [client.get(f"/api/commands/{c['id']}").json() for c in commands]
        return rows if all(row["status"] in FINAL for row in rows) else None

    return wait_until(final, timeout=60)  # type: ignore[no-any-return]


@pytest.mark.parametrize("point", POINTS)
def test_the_agent_killed_mid_decision_leaves_no_decision_without_command(
    tmp_path: Path, point: str
) -> None:
    with CrashingDeployment(tmp_path, agent=True) as run, run.client() as client:
        run.start_crashing_cloud(point)
        run.start_node()
        run.wait_killed()  # the agent's first accepted dip buy reached the point
        run.set_agent(False)  # the restarted cloud decides nothing new
        run.start_cloud()
        run.wait_ready(client)

        decisions, commands = _stored(client)
        if point == "committed":
            assert decisions and {d["strategy"] for d in decisions} == {"dip_buy"}
            # Stored as sent before the crash: sent when the node registers again.
            assert {c["status"] for c in _all_final(client, commands)} <= {"done", "rejected"}
        else:
            assert decisions == [] and commands == []


@pytest.mark.parametrize("point", POINTS)
def test_a_manual_order_killed_mid_decision_is_whole_or_absent_and_runs_once(
    tmp_path: Path, point: str
) -> None:
    with CrashingDeployment(tmp_path, agent=False) as run, run.client() as client:
        run.start_crashing_cloud(point)
        run.start_node()
        run.wait_ready(client)
        order = {**TRADE, "client_order_id": "crash-manual"}
        with pytest.raises(httpx.TransportError):
            client.post(EXECUTE, json=order)
        run.wait_killed()
        run.start_cloud()
        run.wait_ready(client)

        decisions, commands = _stored(client)
        stored = point == "committed"
        assert len(decisions) == len(commands) == (1 if stored else 0)
        if stored:
            (command,) = _all_final(client, commands)
            assert command["status"] == "done"
        # The caller retries: the stored order is the answer, or it is placed now.
        again = client.post(EXECUTE, json=order)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "done"
        if stored:
            assert again.json()["command_id"] == commands[0]["id"]
        decisions, commands = _stored(client)
        assert len(decisions) == len(commands) == 1
        with httpx.Client(base_url=f"http://127.0.0.1:{run.node_port}", headers=NODE_KEY) as node:
            status = node.get("/status").json()
        assert len(status["orders"]) == 1  # executed exactly once
