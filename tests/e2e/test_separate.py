"""``aigupiao cloud`` and ``aigupiao local --config`` as separate processes, as on two machines."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from ..conftest import ROOT, free_port, wait_until


def _cli(*args: str, config: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "aigupiao.cli", *args, "--config", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_cloud_and_local_node_run_separately(tmp_path: Path, tls: bool) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AIGUPIAO_DATABASE_URL", None)
    cloud_port, node_port = free_port(), free_port()
    server_tls: dict[str, str] = {}
    client_tls: dict[str, str] = {}
    verify: ssl.SSLContext | bool = True
    if tls:
        # A private CA and a certificate for 127.0.0.1, as a self-hosted cloud would have.
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        server_tls = {"ssl_certfile": str(tmp_path / "server.pem"),
                      "ssl_keyfile": str(tmp_path / "server.pem")}  # fmt: skip
        client_tls = {"ca_file": str(tmp_path / "ca.pem")}
        verify = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    http, ws = ("https", "wss") if tls else ("http", "ws")
    cloud_config = tmp_path / "cloud.json"
    cloud_config.write_text(
        json.dumps(
            {
                "server": {"host": "127.0.0.1", "port": cloud_port, **server_tls},
                "database_url": f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}",
                "agent": {"enabled": False},
            }
        )
    )
    api_key = _cli("apikey", "add", "e2e", config=cloud_config, env=env)
    token = _cli("node", "add", "pc-1", "--account", "acct-1", config=cloud_config, env=env)
    assert api_key.startswith("agp_") and token.startswith("agn_")
    local_config = tmp_path / "local_config.json"
    local_config.write_text(
        json.dumps(
            {
                "server": {"host": "127.0.0.1", "port": node_port, "api_key": "local-secret"},
                "cloud": {
                    "api_url": f"{http}://127.0.0.1:{cloud_port}",
                    "websocket_url": f"{ws}://127.0.0.1:{cloud_port}/api/cloud-local-trading/ws",
                    "token": token,
                    **client_tls,
                },
                "node": {"id": "pc-1", "account": "acct-1", "data_dir": str(tmp_path / "node")},
            }
        )
    )
    logs = [(tmp_path / name).open("w") for name in ("cloud.log", "local.log")]
    cloud = subprocess.Popen(
        [sys.executable, "-m", "aigupiao.cli", "cloud", "--config", str(cloud_config)],
        cwd=ROOT,
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    local = subprocess.Popen(
        [sys.executable, "-m", "aigupiao.cli", "local", "--config", str(local_config)],
        cwd=ROOT,
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    try:
        headers = {"X-API-Key": api_key}
        with httpx.Client(
            base_url=f"{http}://127.0.0.1:{cloud_port}", verify=verify, headers=headers, timeout=40
        ) as client:
            wait_until(
                lambda: (
                    client.get("/api/cloud-local-trading/local-status").json()["default_node"]
                    == "pc-1"
                ),
                timeout=60,
            )
            # The node's paper broker needs the cloud's quotes before it can fill.
            wait_until(
                lambda: (
                    client.post("/api/cloud-local-trading/test-connection").json()["status"]
                    == "done"
                )
            )
            trade = {"action": "buy", "stock_code": "000001", "quantity": 300, "price": None}

            def filled() -> dict[str, object] | None:
                body = client.post("/api/cloud-local-trading/execute-trade", json=trade).json()
                return body if body["status"] == "done" else None

            body = wait_until(filled, timeout=30)
            assert body["result"]["order"]["filled_quantity"] == 300
            assert body["result"]["order"]["account"] == "acct-1"
            assert [t["symbol"] for t in client.get("/api/trades").json()] == ["sz000001"]
        with httpx.Client(base_url=f"http://127.0.0.1:{node_port}") as node:
            assert node.post("/trade", json=trade).status_code == 401  # the node's key
            assert "balance" not in node.get("/status").json()  # the account needs it too
            status = node.get("/status", headers={"X-API-Key": "local-secret"}).json()
            assert status["cloud"]["state"] == "online" and len(status["trades"]) == 1
    finally:
        codes = []
        for process in (local, cloud):
            process.send_signal(signal.SIGINT)
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()  # never leave a server behind
                codes.append(process.wait())
        assert codes == [0, 0]
        for log in logs:
            log.close()
    for name in ("cloud.log", "local.log"):
        output = (tmp_path / name).read_text()
        assert "Traceback" not in output, output
