"""Crashes with real processes: kill -9 the node mid-command, kill -9 the cloud mid-stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ..conftest import ROOT, free_port, wait_until

TRADE = {"action": "buy", "stock_code": "000001", "quantity": 100, "price": None}
FINAL = {"done", "rejected", "failed", "expired", "unknown"}

# The node's key: the account part of its /status needs it.
NODE_KEY = {"X-API-Key": "node-key"}


class Deployment:
    """A cloud and one node as separate processes, configured in ``tmp``."""

    def __init__(self, tmp: Path, *, latency: float) -> None:
        self.tmp = tmp
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.env.pop("AIGUPIAO_DATABASE_URL", None)
        self.cloud_port, self.node_port = free_port(), free_port()
        self.cloud_config = tmp / "cloud.json"
        self.cloud_config.write_text(json.dumps({
            "server": {"host": "127.0.0.1", "port": self.cloud_port},
            "database_url": f"sqlite+aiosqlite:///{tmp / 'cloud.db'}",
            "agent": {"enabled": False},
            "local_trading": {"api_timeout": 1, "command_ttl": 60, "heartbeat_s": 1},
        }))  # fmt: skip
        self.api_key = self._cli("apikey", "add", "crash")
        token = self._cli("node", "add", "pc-1", "--account", "acct-1")
        self.node_config = tmp / "local.json"
        self.write_node_config(token, latency)
        self.logs: list[Any] = []
        self.cloud: subprocess.Popen[bytes] | None = None
        self.node: subprocess.Popen[bytes] | None = None

    def write_node_config(self, token: str, latency: float) -> None:
        self.node_config.write_text(json.dumps({
            "server": {"host": "127.0.0.1", "port": self.node_port, "api_key": "node-key"},
            "cloud": {"api_url": f"http://127.0.0.1:{self.cloud_port}",
                      "websocket_url": f"ws://127.0.0.1:{self.cloud_port}"
                                       "/api/cloud-local-trading/ws",
                      "token": token},
            "trading": {"paper_latency": latency},
            "node": {"id": "pc-1", "account": "acct-1", "data_dir": str(self.tmp / "node")},
        }))  # fmt: skip

    def _cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "aigupiao.cli", *args, "--config", str(self.cloud_config)],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return result.stdout.strip().splitlines()[-1]

    def _spawn(self, what: str, config: Path) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{what}-{len(self.logs)}.log").open("w")
        self.logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", "aigupiao.cli", what, "--config", str(config)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def start_cloud(self) -> None:
        self.cloud = self._spawn("cloud", self.cloud_config)

    def start_node(self) -> None:
        self.node = self._spawn("local", self.node_config)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.cloud_port}",
                            headers={"X-API-Key": self.api_key}, timeout=30)  # fmt: skip

    def wait_ready(self, client: httpx.Client) -> None:
        def linked() -> bool:
            return bool(client.get("/api/cloud-local-trading/local-status").json()["connected"])

        wait_until(linked, timeout=60)
        # The node's paper broker fills from the cloud's quotes: wait until it has them.
        wait_until(lambda: client.get("/api/quotes/000001").status_code == 200, timeout=30)

    def stop(self) -> None:
        for process in (self.node, self.cloud):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        for log in self.logs:
            log.close()


@contextmanager
def deployment(tmp: Path, *, latency: float) -> Iterator[Deployment]:
    running = Deployment(tmp, latency=latency)
    try:
        yield running
    finally:
        running.stop()


def _command(client: httpx.Client, command_id: str) -> dict[str, Any]:
    return client.get(f"/api/commands/{command_id}").json()  # type: ignore[no-any-return]


def test_kill_9_node_mid_command_is_unknown_and_never_resubmitted(tmp_path: Path) -> None:
    with deployment(tmp_path, latency=5.0) as run, run.client() as client:
        run.start_cloud()
        run.start_node()
        run.wait_ready(client)
        answer = client.post("/api/cloud-local-trading/execute-trade",
                             json={**TRADE, "client_order_id": "crash-1"})  # fmt: skip
        assert answer.status_code == 202  # the slow client is still working on it
        command_id = answer.json()["command_id"]
        wait_until(lambda: _command(client, command_id)["status"] == "acked", timeout=10)

        assert run.node is not None
        run.node.kill()  # SIGKILL while the broker call is in progress
        run.node.wait(timeout=10)
        run.start_node()

        command = wait_until(
            lambda: (c := _command(client, command_id))["status"] in FINAL and c, timeout=60
        )
        assert command["status"] == "unknown"
        assert command["result"]["code"] == "interrupted"
        with httpx.Client(base_url=f"http://127.0.0.1:{run.node_port}", headers=NODE_KEY) as node:
            status = wait_until(lambda: node.get("/status").json(), timeout=30)
        assert status["orders"] == [] and status["trades"] == []  # never sent again
        assert status["commands"].get("unknown") == 1
        # The same id sent again is answered from the journal, never executed.
        again = client.post("/api/cloud-local-trading/execute-trade",
                            json={**TRADE, "client_order_id": "crash-1"}).json()  # fmt: skip
        assert again["command_id"] == command_id and again["status"] == "unknown"


def test_kill_9_cloud_mid_stream_loses_nothing_and_runs_nothing_twice(tmp_path: Path) -> None:
    with deployment(tmp_path, latency=0.4) as run, run.client() as client:
        run.start_cloud()
        run.start_node()
        run.wait_ready(client)
        ids = []
        for n in range(6):
            answer = client.post("/api/cloud-local-trading/execute-trade",
                                 json={**TRADE, "client_order_id": f"stream-{n}"})  # fmt: skip
            assert answer.status_code in (200, 202), answer.text
            ids.append(answer.json()["command_id"])
        assert run.cloud is not None
        run.cloud.kill()  # SIGKILL with commands queued and running on the node
        run.cloud.wait(timeout=10)
        run.start_cloud()
        run.wait_ready(client)

        def all_final() -> list[dict[str, Any]] | None:
            commands = [_command(client, command_id) for command_id in ids]
            return commands if all(c["status"] in FINAL for c in commands) else None

        commands = wait_until(all_final, timeout=60)
        assert [c["status"] for c in commands] == ["done"] * 6
        trades = client.get("/api/trades").json()
        assert len(trades) == 6 and len({t["order_id"] for t in trades}) == 6
        with httpx.Client(base_url=f"http://127.0.0.1:{run.node_port}", headers=NODE_KEY) as node:
            status = node.get("/status").json()
        assert len(status["orders"]) == 6  # each executed exactly once on the broker
