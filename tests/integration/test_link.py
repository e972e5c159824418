"""The cloud <-> node link: auth, exactly once, expiry, reconnects, restarts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aigupiao.domain.decisions import CommandType
from aigupiao.domain.market import Level
from aigupiao.local.runtime import LocalRuntime
from aigupiao.protocol import v1

from ..conftest import eventually
from ..faults.proxy import LinkProxy
from .stack import running_stack

WS = "/api/cloud-local-trading/ws"


def _trade(command_id: str, *, expires_in: float = 10.0) -> v1.TradeCommand:
    now = datetime.now(UTC)
    return v1.TradeCommand(
        id=command_id,
        issued_at=now,
        expires_at=now + timedelta(seconds=expires_in),
        data=v1.TradeData(action="buy", stock_code="sh600519", quantity=100),
    )


async def test_bad_or_missing_token_closes_with_4401(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        url = f"ws://127.0.0.1:{stack.cloud_server.port}{WS}"
        for headers in ({"Authorization": "Bearer agn_not-a-token"}, {}):
            async with connect(url, additional_headers=headers) as socket:
                with pytest.raises(ConnectionClosed) as info:
                    await socket.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_token_for_another_account_is_refused(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        url = f"ws://127.0.0.1:{stack.cloud_server.port}{WS}"
        headers = {"Authorization": f"Bearer {stack.node_token}"}
        async with connect(url, additional_headers=headers) as socket:
            register = v1.Register(
                node_id="x",
                account="someone-else",
                broker="paper",
                capabilities=["buy"],
                last_seq=0,
            )
            await socket.send(register.model_dump_json())
            error = v1.parse_from_cloud(await socket.recv())
            assert isinstance(error, v1.Error) and error.code == "account_mismatch"
            with pytest.raises(ConnectionClosed):
                await socket.recv()
        assert stack.cloud.hub.links == {}


async def test_node_with_a_revoked_token_reports_why(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        node = await stack.start_node(token="agn_revoked-or-wrong")
        assert node.link is not None
        await eventually(lambda: node.link.last_error and "4401" in node.link.last_error)
        assert node.link.state.value in ("offline", "connecting")


async def test_repeated_command_id_runs_once_and_returns_the_stored_response(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path) as stack:
        node = stack.node
        assert node is not None
        command = _trade("dup-1")
        first_seq = await node.executor.execute(command)
        again_seq = await node.executor.execute(command)
        assert first_seq == again_seq
        assert len(await node.broker.get_trades()) == 1
        entry = await node.journal.get("dup-1")
        assert entry is not None and entry.status == "done"


async def test_expired_trade_never_reaches_the_broker(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        node = stack.node
        assert node is not None
        await node.executor.execute(_trade("late-1", expires_in=-1))
        entry = await node.journal.get("late-1")
        assert entry is not None and entry.status == "expired"
        assert await node.broker.get_orders() == []


async def test_results_survive_a_cloud_outage_and_arrive_after_reconnect(tmp_path: Path) -> None:
    """A response queued while the cloud is unreachable is delivered and stored on reconnect."""
    async with running_stack(tmp_path, with_node=False) as stack:
        proxy = await LinkProxy.start("127.0.0.1", stack.cloud_server.port)
        try:
            node = await stack.start_node(via_port=proxy.port)
            await stack.wait_online()
            assert node.link is not None
            proxy.pause()  # the network is down: no new connection gets through
            proxy.cut()
            await eventually(lambda: node.link.state.value != "online")
            seq = await node.executor.execute(_trade("offline-1"))
            assert seq is not None
            proxy.resume()
            await stack.wait_online()
            # The node re-sends its outbox; the cloud stores the fill and confirms it.
            async with stack.client() as client:
                trades = await eventually(lambda: _trades(client), timeout=15)
            assert trades[0]["symbol"] == "sh600519"
            await eventually(lambda: _all_confirmed(node), timeout=10)
        finally:
            await stack.stop_node()
            await proxy.close()


async def test_commands_sent_while_node_was_away_are_delivered_on_reconnect(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path) as stack:
        outcome = await stack.cloud.commands.submit(CommandType.STATUS, {}, wait=False)
        await stack.stop_node()
        await stack.start_node()
        await stack.wait_online()

        async def done() -> bool:
            row = await stack.cloud.commands.get(outcome.command["id"])
            return row is not None and row["status"] == "done"

        await eventually(done, timeout=15)


async def test_node_restart_keeps_its_journal(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        node = stack.node
        assert node is not None
        await node.executor.execute(_trade("keep-1"))
        await stack.stop_node()
        restarted = await stack.start_node()
        entry = await restarted.journal.get("keep-1")
        assert entry is not None and entry.status == "done"
        # A re-delivery of the same id after the restart never reaches the new broker.
        await restarted.executor.execute(_trade("keep-1"))
        assert await restarted.broker.get_orders() == []


async def _trades(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    trades: list[dict[str, Any]] = (await client.get("/api/trades")).json()
    return trades


async def _all_confirmed(node: LocalRuntime) -> bool:
    return await node.journal.unconfirmed() == []


async def test_heartbeats_keep_the_link_online(tmp_path: Path) -> None:
    async with running_stack(tmp_path, local_trading={"heartbeat_s": 0.2}) as stack:
        node = stack.node
        assert node is not None and node.link is not None
        await eventually(lambda: node.link.last_heartbeat is not None, timeout=5)
        await asyncio.sleep(0)  # let the loop run a heartbeat round
        assert node.link.state.value == "online"
        assert "local-1" in stack.cloud.hub.links


async def test_a_resting_order_filled_later_reaches_the_cloud_as_events(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        quote = stack.sim.latest("sz000001")
        assert quote is not None
        limit = quote.bids[-1].price  # below the ask: rests
        body = {"action": "buy", "stock_code": "000001", "quantity": 100, "price": str(limit)}
        answer = (await client.post("/api/cloud-local-trading/execute-trade", json=body)).json()
        order = answer["result"]["order"]
        assert order["status"] == "submitted" and answer["result"]["trades"] == []
        # The market comes down to the limit: the broker fills the resting order on its own.
        crossing = replace(quote, asks=(Level(limit, 10_000),), bids=())
        assert stack.node is not None
        stack.node.broker.on_quote(crossing)  # type: ignore[attr-defined]

        async def filled() -> bool:
            orders = (await client.get("/api/orders")).json()
            trades = (await client.get("/api/trades")).json()
            return orders[0]["status"] == "filled" and len(trades) == 1

        await eventually(filled, timeout=10)
        (trade,) = (await client.get("/api/trades")).json()
        assert Decimal(trade["price"]) == limit and trade["order_id"] == order["id"]
        positions = await eventually(lambda: _positions(client), timeout=10)
        assert positions[0]["symbol"] == "sz000001" and positions[0]["total"] == 100


async def _positions(client: httpx.AsyncClient) -> list[dict[str, object]]:
    return [p for p in (await client.get("/api/positions")).json() if p["total"]]
