"""``aigupiao export`` as a user runs it: a real subprocess, against a real running node."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from aigupiao.brokers.exports import ExportKind, read_export

from ..conftest import ROOT, free_port
from .stack import Stack, running_stack

FIXTURES = ROOT / "tests" / "fixtures" / "exports"
BUY = {"action": "buy", "stock_code": "sz000001", "quantity": 200, "price": None}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    env.pop("FORCE_COLOR", None)
    return {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "aigupiao.cli", "export", *args]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )


async def _run_async(*args: str) -> tuple[int, str]:
    """The CLI in a subprocess without blocking the loop the node under test runs on."""
    process = await asyncio.create_subprocess_exec(
        *_command(*args),
        cwd=ROOT,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


def _refused(code: int, output: str, *needles: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output and "错误 (error)" in output, output
    for needle in needles:
        assert needle in output, output


def test_read_prints_the_rows_and_a_json_last_line() -> None:
    result = _run("read", str(FIXTURES / "持仓_参考持股.xls"), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "持仓 (positions)" in result.stdout and "gbk" in result.stdout
    assert "港股通" in result.stdout and "09988" in result.stdout  # unreadable rows, with reasons
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["kind"] == "positions" and data["encoding"] == "gbk"
    assert [row["code"] for row in data["rows"]] == ["560850", "600900", "159633"]
    assert data["rows"][1]["cost_price"] == "29.9322"  # Decimals as strings
    assert [p["line"] for p in data["problems"]] == [5, 6]
    assert data["notes"][0]["line"] == 4


def test_read_without_json_prints_no_json() -> None:
    result = _run("read", str(FIXTURES / "交割单_短代码.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "000878" in result.stdout and not result.stdout.strip().endswith("}")


def test_read_of_a_missing_or_unreadable_file_exits_2(tmp_path: Path) -> None:
    missing = _run("read", str(tmp_path / "没有.xls"))
    _refused(missing.returncode, missing.stdout + missing.stderr, "无法读取文件", "cannot read")
    workbook = tmp_path / "real.xlsx"
    workbook.write_bytes(b"PK\x03\x04 a zip")
    refused = _run("read", str(workbook), "--json")
    _refused(refused.returncode, refused.stdout + refused.stderr, "Excel")


def _config(tmp_path: Path, stack: Stack, **server: object) -> Path:
    assert stack.node_server is not None
    path = tmp_path / "local_config.json"
    settings = {
        "server": {"host": "127.0.0.1", "port": stack.node_server.port, **server},
        "node": {"data_dir": str(tmp_path / "node")},
    }
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


async def test_export_asks_the_running_node_and_copies_with_dir(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        async with stack.client() as client:
            buy = await client.post("/api/cloud-local-trading/execute-trade", json=BUY)
            assert buy.json()["status"] == "done", buy.text
        config = _config(tmp_path, stack, api_key="node-key")
        code, output = await _run_async("positions", "--config", str(config))
        assert code == 0, output
        written = [Path(line) for line in output.splitlines() if line.startswith("/")]
        assert [p.suffix for p in written] == [".xls", ".csv"]
        assert all(p.parent == tmp_path / "node" / "exports" for p in written)
        assert "持仓 1" in output

        copies = tmp_path / "桌面"
        code, output = await _run_async("all", "--config", str(config), "--dir", str(copies))
        assert code == 0, output
        copied = [Path(line) for line in output.splitlines() if line.startswith("/")]
        assert len(copied) == 6 and {p.parent for p in copied} == {copies}
        kinds = {read_export(p).kind for p in copied}
        assert kinds == {ExportKind.POSITIONS, ExportKind.TRADES, ExportKind.ORDERS}
        trades = next(p for p in copied if p.name.startswith("成交数据") and p.suffix == ".xls")
        (row,) = read_export(trades).rows
        assert (row["code"], row["quantity"], row["name"]) == ("000001", 200, "平安银行")


async def test_export_finds_the_key_the_node_made(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await stack.start_node(api_key=None)  # the node writes <data_dir>/api_key
        await stack.wait_online()
        config = _config(tmp_path, stack)
        code, output = await _run_async("orders", "--config", str(config))
        assert code == 0, output
        assert "委托 0" in output

        (tmp_path / "node" / "api_key").write_text("agl_wrong\n", encoding="utf-8")
        code, output = await _run_async("orders", "--config", str(config))
        _refused(code, output, "拒绝了 API 密钥", "refused the API key")


def test_export_without_a_running_node_says_so(tmp_path: Path) -> None:
    config = tmp_path / "local_config.json"
    port = free_port()
    config.write_text(
        json.dumps({"server": {"port": port, "api_key": "k"}, "node": {"data_dir": str(tmp_path)}}),
        encoding="utf-8",
    )
    result = _run("trades", "--config", str(config))
    _refused(result.returncode, result.stdout + result.stderr, "没有运行", f"127.0.0.1:{port}")


def test_export_without_any_key_says_where_to_find_one(tmp_path: Path) -> None:
    config = tmp_path / "local_config.json"
    config.write_text(json.dumps({"node": {"data_dir": str(tmp_path / "nowhere")}}), "utf-8")
    result = _run("all", "--config", str(config))
    _refused(result.returncode, result.stdout + result.stderr, "server.api_key", "api_key")
    assert not (tmp_path / "nowhere").exists()  # the CLI never makes a key of its own
