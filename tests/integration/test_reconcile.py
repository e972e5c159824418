"""Reconciliation on a real stack: cloud + node + paper broker, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, update

from aigupiao.store import TradeRepo
from aigupiao.store.models import PositionRow, TradeRow

from ..conftest import ROOT, eventually
from .stack import SIM_DAY, Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"


async def _buy(client: httpx.AsyncClient, code: str, quantity: int) -> dict[str, Any]:
    response = await client.post(
        EXECUTE,
        json={"action": "buy", "stock_code": code, "quantity": quantity, "price": None},
    )
    body = response.json()
    assert body["status"] == "done", body
    (trade,) = body["result"]["trades"]
    return dict(trade)


async def _reconcile(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/api/reconcile", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _trade_twice(stack: Stack, client: httpx.AsyncClient) -> list[dict[str, Any]]:
    trades = [await _buy(client, "600519", 100), await _buy(client, "000001", 200)]
    await stack.cloud.results.flush()
    return trades


async def test_a_clean_account_matches(tmp_path: Path, empty_url: str) -> None:
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        empty = await _reconcile(client)
        assert empty["matched"] is True and empty["account"] == "paper-1"
        await _trade_twice(stack, client)

        report = await _reconcile(client, account="paper-1")

        assert report["matched"] is True, report
        assert report["node_id"] == "local-1"
        assert report["trading_day"] == SIM_DAY.isoformat()
        assert report["counts"] == {
            "broker_positions": 2,
            "cloud_positions": 2,
            "broker_trades": 2,
            "cloud_trades": 2,
        }
        assert report["positions"] == []
        assert report["trades"] == {
            "missing_in_cloud": [],
            "missing_at_broker": [],
            "different": [],
        }
        datetime.fromisoformat(report["checked_at"])
        command = (await client.get(f"/api/commands/{report['export_command_id']}")).json()
        assert command["type"] == "export" and command["status"] == "done"


async def test_changed_cloud_records_are_reported(tmp_path: Path, empty_url: str) -> None:
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        moutai, pingan = await _trade_twice(stack, client)
        assert (await _reconcile(client))["matched"] is True
        await stack.cloud.results.flush()  # the export's snapshot is written: nothing pending

        async with stack.cloud.db.session() as session:
            await session.execute(delete(TradeRow).where(TradeRow.id == pingan["id"]))
            await session.execute(delete(PositionRow).where(PositionRow.symbol == "sz000001"))
            await session.execute(
                update(PositionRow)
                .where(PositionRow.symbol == "sh600519")
                .values(total=300, available=100, cost_price=Decimal("1.0000"))
            )
            await TradeRepo(session).add(
                {
                    **moutai,
                    "id": "ghost-1",
                    "order_id": "ghost-order",
                    "node_id": "local-1",
                    "quantity": 100,
                    "price": Decimal(moutai["price"]),
                    "amount": Decimal(moutai["amount"]),
                    "commission": Decimal(moutai["commission"]),
                    "stamp_duty": Decimal(moutai["stamp_duty"]),
                    "transfer_fee": Decimal(moutai["transfer_fee"]),
                    "ts": datetime.fromisoformat(moutai["ts"]),
                }
            )
            await session.commit()

        report = await _reconcile(client)

        assert report["matched"] is False
        position, gone = report["positions"]
        assert gone["symbol"] == "sz000001" and gone["cloud"] is None
        assert gone["issues"] == ["missing_in_cloud", "total"]
        assert gone["broker"]["total"] == 200 and gone["total_difference"] == 200
        assert position["symbol"] == "sh600519"
        assert set(position["issues"]) == {"total", "available", "cost_price"}
        assert position["total_difference"] == 100 - 300
        assert position["available_difference"] == 0 - 100
        assert position["cloud"] == {"total": 300, "available": 100, "cost_price": "1.00"}
        assert position["broker"]["total"] == 100
        broker_cost = Decimal(position["broker"]["cost_price"])
        assert Decimal(position["cost_price_difference"]) == broker_cost - 1
        (missing,) = report["trades"]["missing_in_cloud"]
        assert missing["id"] == pingan["id"] and missing["quantity"] == 200
        assert missing["symbol"] == "sz000001" and missing["price"] == pingan["price"]
        (ghost,) = report["trades"]["missing_at_broker"]
        assert ghost["id"] == "ghost-1" and ghost["order_id"] == "ghost-order"
        assert report["counts"]["cloud_trades"] == 2 and report["counts"]["broker_trades"] == 2

        # The export is stored like any node report: the missing fill is added and the
        # position snapshot replaced, so only the cloud-only fill is left the next time.
        again = await _reconcile(client)
        assert again["positions"] == []
        assert again["trades"]["missing_in_cloud"] == []
        assert [t["id"] for t in again["trades"]["missing_at_broker"]] == ["ghost-1"]


async def test_a_renumbered_fill_matches_by_order_quantity_and_price(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        (moutai, _) = await _trade_twice(stack, client)
        async with stack.cloud.db.session() as session:
            await session.execute(
                update(TradeRow).where(TradeRow.id == moutai["id"]).values(id="renumbered-1")
            )
            await session.commit()
        report = await _reconcile(client)
        assert report["matched"] is True, report


async def test_cost_tolerance_and_errors(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        await _trade_twice(stack, client)
        await _reconcile(client)
        await stack.cloud.results.flush()
        async with stack.cloud.db.session() as session:
            rows = {r.symbol: r for r in (await session.execute(PositionRow.__table__.select()))}
            cost = rows["sh600519"].cost_price
            await session.execute(
                update(PositionRow)
                .where(PositionRow.symbol == "sh600519")
                .values(cost_price=cost + Decimal("0.0500"))
            )
            await session.commit()
        loose = await _reconcile(client, cost_tolerance="0.1")
        assert loose["matched"] is True and loose["cost_tolerance"] == "0.10"
        await stack.cloud.results.flush()
        async with stack.cloud.db.session() as session:
            await session.execute(
                update(PositionRow)
                .where(PositionRow.symbol == "sh600519")
                .values(cost_price=cost + Decimal("0.0500"))
            )
            await session.commit()
        strict = await _reconcile(client)
        assert strict["positions"][0]["issues"] == ["cost_price"]
        assert strict["positions"][0]["cost_price_difference"] == "-0.05"

        async with httpx.AsyncClient(base_url=stack.cloud_url) as anonymous:
            assert (await anonymous.get("/api/reconcile")).status_code == 401
        other = await client.get("/api/reconcile", params={"account": "nobody"})
        assert other.status_code == 409
        assert other.json()["detail"]["code"] == "node_not_connected"
        assert other.json()["detail"]["message"] and other.json()["detail"]["message_en"]

        await stack.stop_node()
        await eventually(lambda: not stack.cloud.hub.links)
        offline = await client.get("/api/reconcile")
        assert offline.status_code == 409, offline.text
        assert offline.json()["detail"]["code"] == "node_not_connected"


async def _cli(*args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aigupiao.cli", "reconcile", *args,
        cwd=ROOT, env={**env, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_the_cli_reports_and_sets_the_exit_code(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        _, pingan = await _trade_twice(stack, client)
        credentials = tmp_path / "credentials.json"
        credentials.write_text(json.dumps({"api_key": stack.api_key}), encoding="utf-8")

        code, output = await _cli("--url", stack.cloud_url, "--credentials", str(credentials))
        assert code == 0, output
        assert "一致 (matched)" in output and "paper-1" in output

        await stack.cloud.results.flush()
        async with stack.cloud.db.session() as session:
            await session.execute(delete(TradeRow).where(TradeRow.id == pingan["id"]))
            await session.commit()
        code, output = await _cli(
            "--url", stack.cloud_url, "--api-key", stack.api_key, "--json", "--account", "paper-1"
        )
        assert code == 1, output
        report = json.loads(output)
        assert [t["id"] for t in report["trades"]["missing_in_cloud"]] == [pingan["id"]]

        code, output = await _cli("--url", stack.cloud_url, "--api-key", "wrong")
        assert code == 2 and "错误 (error)" in output and "HTTP 401" in output, output
        assert "Traceback" not in output
        code, output = await _cli(
            "--url", stack.cloud_url, "--credentials", str(tmp_path / "none.json")
        )
        assert code == 2 and "--api-key" in output and "Traceback" not in output, output
