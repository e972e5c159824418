"""``aigupiao up`` as a user runs it: a real subprocess, real ports, the seed's trade."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from ..conftest import ROOT, free_port, wait_until

SEED_TRADE = {
    "action": "buy",
    "stock_code": "600519",
    "quantity": 100,
    "price": None,
    "agent_id": "test",
}


def _aigupiao() -> list[str]:
    return [sys.executable, "-m", "aigupiao.cli"]


def test_up_trades_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    cloud_port, node_port = free_port(), free_port()
    var = tmp_path / "var"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AIGUPIAO_DATABASE_URL", None)
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(
        [
            *_aigupiao(),
            "up",
            "--cloud-port",
            str(cloud_port),
            "--node-port",
            str(node_port),
            "--var-dir",
            str(var),
            "--summary-every",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        credentials_file = var / "credentials.json"
        wait_until(credentials_file.is_file, timeout=60)
        credentials = json.loads(credentials_file.read_text())
        assert oct(credentials_file.stat().st_mode & 0o777) == "0o600"
        # Everything under var/ is the owner's alone.
        for private in (
            var / "aigupiao.db",
            var / "node" / "journal.db",
            var / "node" / "paper.db",
        ):
            wait_until(private.is_file, timeout=60)
            assert oct(private.stat().st_mode & 0o777) == "0o600", private
        for folder in (var, var / "node"):
            assert oct(folder.stat().st_mode & 0o777) == "0o700", folder
        _first_admin(cloud_port, credentials["admin_password"])
        headers = {"Authorization": f"Bearer {credentials['api_key']}"}
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{cloud_port}", headers=headers, timeout=40
            ) as cloud,
            # up's node takes the same key (for the account part of its /status).
            httpx.Client(
                base_url=f"http://127.0.0.1:{node_port}", headers=headers, timeout=10
            ) as node,
        ):
            _seed_trade_and_agent(cloud, node)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        log.close()
    output = (tmp_path / "up.log").read_text()
    assert code == 0, output
    assert "stopped cleanly" in output
    # Not a terminal (a log file): where the secrets are, never the secrets.
    for secret in ("admin_password", "api_key", "node_token"):
        assert credentials[secret] not in output, secret
    assert str(var / "credentials.json") in output
    assert "Traceback" not in output and "ERROR" not in output, output


def test_up_refuses_a_taken_port_with_a_clear_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *_aigupiao(),
                "up",
                "--cloud-port",
                str(port),
                "--node-port",
                str(free_port()),
                "--var-dir",
                str(tmp_path / "var"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "端口被占用" in result.stdout and str(port) in result.stdout


def _first_admin(port: int, password: str) -> None:
    """The admin ``up`` made on its first start logs in and may manage users."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=40) as client:
        session = wait_until(
            lambda: client.post(
                "/api/auth/login", json={"username": "admin", "password": password}
            ).json(),
            timeout=60,
        )
        assert session["user"] == {"username": "admin", "role": "admin"}
        users = client.get("/api/admin/users").json()  # with the session cookie
        assert [(u["username"], u["role"]) for u in users] == [("admin", "admin")]


def _seed_trade_and_agent(cloud: httpx.Client, node: httpx.Client) -> None:
    def linked() -> bool:
        status = cloud.get("/api/cloud-local-trading/local-status").json()
        return bool(status["connected"])

    wait_until(linked, timeout=60)
    # 100 sh600519 (about 147,000 CNY) is above the default cap of 10% of the 1,000,000
    # paper account: the risk gate refuses it, and the refusal is a stored decision.
    refused = cloud.post("/api/cloud-local-trading/execute-trade", json=SEED_TRADE)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail["code"] == "max_position_size" and detail["values"]["cap"] == "100000.00"
    rejected = cloud.get("/api/decisions?verdict=rejected").json()
    assert detail["decision_id"] in [d["id"] for d in rejected]
    trade = {**SEED_TRADE, "stock_code": "000001"}
    response = cloud.post("/api/cloud-local-trading/execute-trade", json=trade)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done"
    (fill,) = body["result"]["trades"]
    assert fill["symbol"] == "sz000001" and fill["quantity"] == 100

    trades = cloud.get("/api/trades").json()
    assert fill["id"] in [t["id"] for t in trades]
    node_status = node.get("/status").json()
    assert fill["id"] in [t["id"] for t in node_status["trades"]]

    # Within 30 s the default agent's dip buys are filled and stored too.
    def agent_fills() -> list[dict[str, object]]:
        decisions = cloud.get("/api/decisions?verdict=accepted").json()
        decided = {d["symbol"] for d in decisions if d["strategy"] != "manual"}
        return [t for t in cloud.get("/api/trades").json() if t["symbol"] in decided]

    wait_until(agent_fills, timeout=30)
    health = cloud.get("/api/health").json()
    assert health["status"] == "ok" and health["stats"]["fills"] >= 2
