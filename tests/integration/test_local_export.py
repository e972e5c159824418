"""The node writes its exports as files in the clients' formats: on ``POST /export`` and on
the cloud's export command, against a real linked node (see ``stack.py``)."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigupiao.brokers.exports import ExportKind, read_export
from aigupiao.domain.orders import OrderStatus, Side
from aigupiao.local.names import CloudNames

from ..conftest import eventually, free_port
from .stack import Stack, running_stack

KEY = {"X-API-Key": "node-key"}
BUY = {"action": "buy", "stock_code": "sh600519", "quantity": 100, "price": None}


def _node(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.node_url, headers=KEY, timeout=30)


def _by_kind(files: list[str]) -> dict[tuple[ExportKind, str], Path]:
    read = {}
    for name in files:
        path = Path(name)
        read[(read_export(path).kind, path.suffix)] = path
    return read


def _stale(path: Path, hours: float = 25) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"old export")
    then = time.time() - hours * 3600
    os.utime(path, (then, then))
    return path


async def test_export_writes_both_formats_and_answers_their_paths(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        traded = (await node.post("/trade", json=BUY)).json()
        assert traded["status"] == "done", traded
        (trade,) = traded["result"]["trades"]
        response = await node.post("/export", json={"data_type": "all"})
        assert response.status_code == 200, response.text
        body = response.json()
        # The JSON answer is what it was, plus the files (and the result's kind).
        assert set(body) == {
            "kind",
            "data_type",
            "account",
            "positions",
            "trades",
            "orders",
            "files",
        }
        assert len(body["files"]) == 6
        exports = tmp_path / "node" / "exports"
        assert {Path(name).parent for name in body["files"]} == {exports}
        files = _by_kind(body["files"])
        assert set(files) == {(kind, suffix) for kind in (ExportKind.POSITIONS, ExportKind.TRADES,
                              ExportKind.ORDERS) for suffix in (".xls", ".csv")}  # fmt: skip
        for suffix in (".xls", ".csv"):
            (position,) = read_export(files[ExportKind.POSITIONS, suffix]).rows
            assert (position["code"], position["total"]) == ("600519", 100)
            assert position["available"] == 0  # T+1
            assert position["name"] == "贵州茅台"  # from the cloud's quotes
            (row,) = read_export(files[ExportKind.TRADES, suffix]).rows
            assert (row["trade_no"], row["side"], row["quantity"]) == (trade["id"], Side.BUY, 100)
            assert row["price"] == Decimal(trade["price"])
            (order,) = read_export(files[ExportKind.ORDERS, suffix]).rows
            assert (order["status_text"], order["status"]) == ("已成", OrderStatus.FILLED)
            assert order["order_no"] == traded["result"]["order"]["id"]
        xls = files[ExportKind.POSITIONS, ".xls"]
        assert xls.name.startswith("持仓数据_")
        assert xls.read_bytes().startswith("证券代码".encode("gbk"))

        one = (await node.post("/export", json={"data_type": "trades"})).json()
        assert [Path(name).name[:4] for name in one["files"]] == ["成交数据", "成交数据"]


async def test_status_reads_without_writing_files(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        status = (await node.get("/status")).json()
        assert status["positions"] == [] and "files" not in status
        exports = tmp_path / "node" / "exports"
        assert not exports.exists() or list(exports.iterdir()) == []


async def test_old_exports_are_removed_at_start_and_on_each_export(tmp_path: Path) -> None:
    exports = tmp_path / "node" / "exports"
    before_start = _stale(exports / "持仓数据_0101_090000.xls")
    fresh_enough = _stale(exports / "成交数据_0101_090000.csv", hours=1)
    not_an_export = _stale(exports / "我的对账单.xls")
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        assert not before_start.exists()  # removed when the node started
        assert fresh_enough.exists() and not_an_export.exists()
        during = _stale(exports / "委托数据_0101_090000.csv")
        body = (await node.post("/export", json={"data_type": "positions"})).json()
        assert not during.exists()
        assert sorted(exports.iterdir()) == sorted(
            [fresh_enough, not_an_export, *(Path(name) for name in body["files"])]
        )


async def test_export_dir_setting_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "导出 files"
    monkeypatch.setenv("AIGUPIAO_TRADING__EXPORT_DIR", str(target))
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        body = (await node.post("/export", json={"data_type": "orders"})).json()
        assert [Path(name).parent for name in body["files"]] == [target, target]
        assert all(Path(name).is_file() for name in body["files"])


async def test_unwritable_export_dir_still_answers_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("AIGUPIAO_TRADING__EXPORT_DIR", str(blocker / "exports"))
    async with running_stack(tmp_path) as stack, _node(stack) as node:
        response = await node.post("/export", json={"data_type": "positions"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["positions"] == [] and body["files"] == []
        error = body["files_error"]
        assert error["code"] == "export_write_failed"
        assert "导出文件写入失败" in error["message"] and str(blocker) in error["message_en"]


async def _command_result(stack: Stack, response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if response.status_code == 200:
        return body  # type: ignore[no-any-return]
    async with stack.client() as client:

        async def done() -> dict[str, Any]:
            row: dict[str, Any] = (await client.get(f"/api/commands/{body['command_id']}")).json()
            return row if row.get("status") == "done" else {}

        return await eventually(done, timeout=15)


async def test_the_clouds_export_command_writes_files_on_the_node(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        buy = await client.post(
            "/api/cloud-local-trading/agent/buy", json={"stock_code": "sz000001", "quantity": 200}
        )
        assert buy.json()["status"] == "done", buy.text
        response = await client.post("/api/cloud-local-trading/agent/export/positions")
        body = await _command_result(stack, response)
        result = body["result"]
        assert [(p["symbol"], p["total"]) for p in result["positions"]] == [("sz000001", 200)]
        assert len(result["files"]) == 2
        for name in result["files"]:
            path = Path(name)
            assert path.parent == tmp_path / "node" / "exports" and path.is_file()
            (row,) = read_export(path).rows
            assert (row["code"], row["exchange"], row["total"]) == ("000001", "SZ", 200)
            assert row["name"] == "平安银行"


async def test_names_that_cannot_be_had_leave_the_name_empty(tmp_path: Path) -> None:
    unreachable = CloudNames(f"http://127.0.0.1:{free_port()}", "token", timeout=1)
    assert await unreachable({"sh600519"}) == {}

    async def broken(codes: Collection[str]) -> Mapping[str, str]:
        raise RuntimeError("name service bug")

    async with running_stack(tmp_path) as stack, _node(stack) as node:
        assert stack.node is not None
        stack.node.executor.names = broken
        assert (await node.post("/trade", json=BUY)).json()["status"] == "done"
        body = (await node.post("/export", json={"data_type": "positions"})).json()
        for name in body["files"]:
            (row,) = read_export(Path(name)).rows
            assert row["code"] == "600519" and row["name"] is None
