"""``GET /api/exports/{command_id}/{kind}`` over real HTTP against a real node: the files
of a finished export command, rendered like the node's own and read back by the reader
behind ``aigupiao export read``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from aigupiao.brokers.exports import ExportKind, read_export
from aigupiao.domain.decisions import Command, CommandStatus, CommandType
from aigupiao.store import CommandRepo

from .stack import running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
EXPORT = "/api/cloud-local-trading/export-data"
_DISPOSITION = re.compile(r"""^attachment; filename="([^"]+)"; filename\*=UTF-8''(\S+)$""")


def _save(response: httpx.Response, directory: Path) -> Path:
    """Save the download under the name its Content-Disposition gives (the RFC 5987 one)."""
    match = _DISPOSITION.match(response.headers["content-disposition"])
    assert match, response.headers["content-disposition"]
    ascii_name, encoded = match.groups()
    assert ascii_name.isascii()
    path = directory / unquote(encoded)
    path.write_bytes(response.content)
    return path


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("line", "name")} for row in rows]


async def _trade_and_rest(client: httpx.AsyncClient, last: Decimal) -> None:
    """One fill (a market buy) and one resting limit order."""
    market = {"action": "buy", "stock_code": "000001", "quantity": 200, "price": None}
    assert (await client.post(EXECUTE, json=market)).json()["status"] == "done"
    price = (last * Decimal("0.93")).quantize(Decimal("0.01"), rounding=ROUND_UP)
    resting = {**market, "quantity": 100, "price": str(price)}
    answer = (await client.post(EXECUTE, json=resting)).json()
    assert answer["result"]["order"]["status"] == "submitted", answer


async def test_download_each_kind_in_both_formats(tmp_path: Path, empty_url: str) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        quote = stack.sim.latest("sz000001")
        assert quote is not None
        await _trade_and_rest(client, quote.last)
        exported = (await client.post(EXPORT, json={"data_type": "all"})).json()
        assert exported["status"] == "done", exported
        node_files = [Path(p) for p in exported["result"]["files"]]
        base = f"/api/exports/{exported['command_id']}"

        positions = await client.get(f"{base}/positions", params={"format": "ths"})
        assert positions.status_code == 200, positions.text
        assert positions.headers["content-type"] == "application/vnd.ms-excel"
        path = _save(positions, downloads)
        assert re.fullmatch(r"持仓数据_\d{4}_\d{6}\.xls", path.name), path.name
        assert 'filename="positions_' in positions.headers["content-disposition"]
        read = read_export(path)
        assert read.kind is ExportKind.POSITIONS and read.encoding.lower() == "gbk"
        assert not read.problems
        (row,) = read.rows
        assert row["code"] == "000001" and row["total"] == 200 and row["available"] == 0
        assert row["name"] == quote.name  # named from the cloud's quotes

        trades = await client.get(f"{base}/trades", params={"format": "csv"})
        assert trades.status_code == 200, trades.text
        assert trades.headers["content-type"] == "text/csv; charset=utf-8"
        assert trades.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
        path = _save(trades, downloads)
        assert re.fullmatch(r"成交数据_\d{4}_\d{6}\.csv", path.name), path.name
        read = read_export(path)
        assert read.kind is ExportKind.TRADES and not read.problems
        (fill,) = read.rows
        assert fill["quantity"] == 200 and fill["operation"] == "买入"
        assert fill["amount"] == fill["price"] * 200

        orders = await client.get(f"{base}/orders")  # ths is the default
        assert orders.status_code == 200, orders.text
        path = _save(orders, downloads)
        assert path.suffix == ".xls" and path.name.startswith("委托数据_")
        read = read_export(path)
        assert read.kind is ExportKind.ORDERS and not read.problems
        assert sorted(r["status_text"] for r in read.rows) == ["已成", "已报"]

        # The same rows as the files the node wrote itself (the node had no names).
        for kind, fmt in (("positions", "ths"), ("trades", "csv"), ("orders", "ths")):
            response = await client.get(f"{base}/{kind}", params={"format": fmt})
            ours = read_export(_save(response, downloads))
            suffix = ".xls" if fmt == "ths" else ".csv"
            title = {"positions": "持仓数据", "trades": "成交数据", "orders": "委托数据"}[kind]
            (node_file,) = [
                p for p in node_files if p.name.startswith(title) and p.suffix == suffix
            ]
            assert _comparable(ours.rows) == _comparable(read_export(node_file).rows), kind


async def test_unknown_unfinished_and_wrong_kind(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        unknown = await client.get("/api/exports/nope/positions")
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["detail"]["code"] == "not_found"

        only_positions = (await client.post(EXPORT, json={"data_type": "positions"})).json()
        base = f"/api/exports/{only_positions['command_id']}"
        assert (await client.get(f"{base}/positions")).status_code == 200
        not_exported = await client.get(f"{base}/trades")
        assert not_exported.status_code == 404, not_exported.text
        detail = not_exported.json()["detail"]
        assert detail["code"] == "not_exported" and "positions" in detail["message_en"]

        bad_format = await client.get(f"{base}/positions", params={"format": "xlsx"})
        assert bad_format.status_code == 422
        bad_kind = await client.get(f"{base}/balance")
        assert bad_kind.status_code == 422

        status = (await client.post("/api/cloud-local-trading/test-connection")).json()
        not_export = await client.get(f"/api/exports/{status['command_id']}/positions")
        assert not_export.status_code == 404

        # A command the node has not answered yet.
        now = datetime.now(UTC)
        waiting = Command(
            id="export-waiting",
            type=CommandType.EXPORT,
            node_id="local-1",
            data={"data_type": "all"},
            issued_at=now,
            expires_at=now + timedelta(seconds=30),
            status=CommandStatus.SENT,
        )
        async with stack.cloud.db.session() as session:
            await CommandRepo(session).create(waiting, account="paper-1")
            await session.commit()
        pending = await client.get("/api/exports/export-waiting/orders")
        assert pending.status_code == 409, pending.text
        detail = pending.json()["detail"]
        assert detail["code"] == "not_ready" and "尚未完成" in detail["message"]

        # ... and one that failed on the node: its reason, no file.
        failure = {"code": "broker_error", "message": "券商无响应", "message_en": "broker down"}
        async with stack.cloud.db.session() as session:
            await CommandRepo(session).advance(
                "export-waiting", "failed", result=failure, at=datetime.now(UTC)
            )
            await session.commit()
        failed = await client.get("/api/exports/export-waiting/orders")
        assert failed.status_code == 409, failed.text
        detail = failed.json()["detail"]
        assert detail["code"] == "export_failed" and "券商无响应" in detail["message"]
        assert "broker down" in detail["message_en"]
