"""Faults on the cloud <-> node link, injected on real sockets.

The node's link runs through a :class:`LinkProxy` that drops, duplicates or delays
WebSocket messages by rule. Every test checks the guarantees of the shared design
("The cloud <-> local link (protocol v1)"): the cloud's command reaches the right final
status, the broker is called exactly once for it, the cloud stores each fill once, and
the node's outbox drains (everything it reported was confirmed with ``received``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from aigupiao.brokers.base import OrderRequest, OrderResult
from aigupiao.cloud.app import create_app as create_cloud_app
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.clock import BEIJING, TradingDayClock
from aigupiao.domain.decisions import CommandType
from aigupiao.local.runtime import LocalRuntime
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import load_universe
from aigupiao.protocol import v1
from aigupiao.protocol.payloads import ErrorResult

from ..conftest import SHARED, eventually
from ..faults.proxy import LinkProxy, Message
from .stack import SIM_DAY, Running, Stack, running_stack, serve

WS = "/api/cloud-local-trading/ws"
TRADE = {"action": "buy", "stock_code": "sh600519", "quantity": 100, "price": None}
FINAL = ("done", "rejected", "failed", "expired", "unknown")


# -- the stack behind a proxy ------------------------------------------------------


@dataclass
class Faulty:
    """A cloud, a node whose link runs through ``proxy``, and every order the node placed."""

    stack: Stack
    proxy: LinkProxy
    node: LocalRuntime
    placed: list[str] = field(default_factory=list)  # client order ids, one per broker call
    returned: list[str] = field(default_factory=list)  # those whose broker call has returned

    async def trade(self, client_order_id: str) -> dict[str, Any]:
        """Place a market buy through the cloud API; returns its JSON answer (200 expected)."""
        body = {**TRADE, "stock_code": "600519", "client_order_id": client_order_id}
        async with self.stack.client() as client:
            response = await client.post("/api/cloud-local-trading/execute-trade", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def submit(self) -> str:
        """Send a market buy without waiting for its result; returns the command id."""
        outcome = await self.stack.cloud.commands.submit(CommandType.TRADE, dict(TRADE), wait=False)
        return str(outcome.command["id"])

    def seen(self, direction: str, kind: str, **fields: Any) -> list[Message]:
        """Messages the proxy passed (or dropped) in ``direction`` of type ``kind``."""
        return [
            m
            for d, m in self.proxy.log
            if d == direction
            and m.get("type") == kind
            and all(m.get(k) == v for k, v in fields.items())
        ]

    def index(self, direction: str, kind: str, nth: int = 0, **fields: Any) -> int:
        """Position in ``proxy.log`` of the ``nth`` matching message."""
        hits = [
            i
            for i, (d, m) in enumerate(self.proxy.log)
            if d == direction
            and m.get("type") == kind
            and all(m.get(k) == v for k, v in fields.items())
        ]
        return hits[nth]

    async def final(self, command_id: str, *, timeout: float = 15) -> dict[str, Any]:
        """The cloud's command row once it is final."""

        async def check() -> dict[str, Any] | None:
            row = await self.stack.cloud.commands.get(command_id)
            return row if row is not None and row["status"] in FINAL else None

        return await eventually(check, timeout=timeout)

    async def status(self, command_id: str) -> str:
        async with self.stack.client() as client:
            response = await client.get(f"/api/commands/{command_id}")
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    async def outbox_drained(self) -> None:
        async def drained() -> bool:
            return await self.node.journal.unconfirmed() == []

        await eventually(drained, timeout=15)

    async def executed_once(self, command_id: str) -> dict[str, Any]:
        """Assert ``command_id`` is done, traded once at the broker and stored once; the
        node's outbox drains. Returns the cloud's command row."""
        row = await self.final(command_id)
        assert row["status"] == "done", row
        assert await self.status(command_id) == "done"
        assert self.placed.count(command_id) == 1, self.placed
        orders = [o for o in await self.node.broker.get_orders() if o.client_order_id == command_id]
        assert len(orders) == 1, orders
        (order,) = orders
        fills = [t for t in await self.node.broker.get_trades() if t.order_id == order.id]
        assert len(fills) == 1, fills
        assert row["result"]["order"]["id"] == order.id
        async with self.stack.client() as client:
            stored = (await client.get("/api/trades", params={"limit": 5000})).json()
            orders_stored = (await client.get("/api/orders", params={"limit": 5000})).json()
        assert [t["id"] for t in stored if t["order_id"] == order.id] == [fills[0].id]
        assert [o["id"] for o in orders_stored if o["id"] == order.id] == [order.id]
        entry = await self.node.journal.get(command_id)
        assert entry is not None and entry.state == "finished" and entry.status == "done"
        await self.outbox_drained()
        return row


def _count_orders(faulty: Faulty, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every call the node makes to its broker's ``place_order``.

    The paper broker refuses a repeated client order id on its own; counting the calls
    shows the node itself never tries twice.
    """
    original = faulty.node.broker.place_order

    async def place_order(request: OrderRequest) -> OrderResult:
        faulty.placed.append(str(request.client_order_id))
        result = await original(request)
        faulty.returned.append(str(request.client_order_id))
        return result

    monkeypatch.setattr(faulty.node.broker, "place_order", place_order)


@contextlib.asynccontextmanager
async def faulty_stack(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    latency: float = 0.0,
    wall_clock: Callable[[], datetime] | None = None,
    **cloud_overrides: Any,
) -> AsyncIterator[Faulty]:
    async with running_stack(tmp_path, with_node=False, **cloud_overrides) as stack:
        proxy = await LinkProxy.start("127.0.0.1", stack.cloud_server.port)
        try:
            node = await stack.start_node(
                via_port=proxy.port, latency=latency, wall_clock=wall_clock
            )
            faulty = Faulty(stack, proxy, node)
            _count_orders(faulty, monkeypatch)
            await stack.wait_online()
            await _settled(stack)
            yield faulty
        finally:
            await stack.stop_node()
            await proxy.close()


async def _settled(stack: Stack) -> None:
    """Wait out the status command the cloud sends on every register."""

    async def all_final() -> bool:
        rows = await stack.cloud.commands.list()
        return bool(rows) and all(row["status"] in FINAL for row in rows)

    await eventually(all_final, timeout=15)


async def _fired(rule: Any, timeout: float = 10) -> None:
    await asyncio.wait_for(rule.done.wait(), timeout)


def _ack_of_a_trade(log: list[tuple[str, Message]]) -> Callable[[Message], bool]:
    """Matches an ack for a trade the proxy has passed down (not the status command's)."""

    def match(message: Message) -> bool:
        return message["type"] == "ack" and any(
            d == "down" and m["type"] == "trade" and m["id"] == message["command_id"]
            for d, m in log
        )

    return match


def _is_trade_response(message: Message) -> bool:
    """A response carrying an order (a trade's result, not a status or export)."""
    return message.get("type") == "response" and "order" in (message.get("result") or {})


# -- 1 to 6: drops, duplicates and replays through the proxy -------------------------


async def test_drop_before_the_node_gets_the_trade_resends_it_on_reconnect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with faulty_stack(tmp_path, monkeypatch) as f:
        rule = f.proxy.add_rule("down", lambda m: m["type"] == "trade", "drop_connection_before")
        answer = await f.trade("drop-before-1")  # waits across the drop and the reconnect
        await _fired(rule)
        command_id = answer["command_id"]
        assert answer["status"] == "done" and answer["success"] is True
        # The first copy died with the connection; the cloud re-sent it after the re-register.
        assert len(f.seen("down", "trade", id=command_id)) == 2
        assert len(f.seen("up", "register")) >= 2
        assert f.index("down", "trade", 1, id=command_id) > f.index("up", "register", 1)
        assert len(f.seen("up", "ack", command_id=command_id)) == 1
        await f.executed_once(command_id)


async def test_drop_after_the_ack_delivers_the_response_after_reconnect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with faulty_stack(tmp_path, monkeypatch) as f:
        rule = f.proxy.add_rule("up", _ack_of_a_trade(f.proxy.log), "drop_connection_after")
        answer = await f.trade("drop-after-ack-1")
        await _fired(rule)
        command_id = answer["command_id"]
        assert answer["status"] == "done"
        # Nothing from this command crossed the dead connection after its ack: the response
        # arrived on the new one (re-sent from the outbox and/or answered from the journal).
        assert f.index("up", "response", command_id=command_id) > f.index("up", "register", 1)
        await f.executed_once(command_id)


async def test_drop_during_execution_reports_once_the_link_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with faulty_stack(tmp_path, monkeypatch, latency=0.5) as f:
        # The live connection survives pause(); every reconnect is refused until resume().
        f.proxy.pause()
        rule = f.proxy.add_rule("up", _ack_of_a_trade(f.proxy.log), "drop_connection_after")
        command_id = await f.submit()
        await _fired(rule)
        assert f.node.link is not None
        await eventually(lambda: f.node.link.state.value != "online")

        async def broker_has_it() -> bool:
            return await f.node.broker.find_order(command_id) is not None

        await eventually(broker_has_it, timeout=10)
        entry = await eventually(lambda: _finished(f.node, command_id), timeout=10)
        assert entry.status == "done"
        # The order is placed, but the cloud cannot know yet: it stays acked, not failed.
        assert (await f.stack.cloud.commands.get(command_id) or {})["status"] == "acked"
        assert await f.node.journal.unconfirmed() != []
        f.proxy.resume()
        await f.executed_once(command_id)


async def _finished(node: LocalRuntime, command_id: str) -> Any:
    entry = await node.journal.get(command_id)
    return entry if entry is not None and entry.state == "finished" else None


async def test_drop_before_received_makes_the_node_resend_and_the_cloud_store_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with faulty_stack(tmp_path, monkeypatch) as f:
        log = f.proxy.log

        def received_for_a_trade(m: Message) -> bool:
            return m["type"] == "received" and any(
                d == "up" and _is_trade_response(x) and x["seq"] == m["seq"] for d, x in log
            )

        rule = f.proxy.add_rule("down", received_for_a_trade, "drop_connection_before")
        answer = await f.trade("drop-before-received-1")
        await _fired(rule)
        command_id = answer["command_id"]
        assert answer["status"] == "done"
        await f.executed_once(command_id)
        # The same response (same seq) went up twice, and the second time it was confirmed.
        responses = f.seen("up", "response", command_id=command_id)
        assert len(responses) >= 2 and len({r["seq"] for r in responses}) == 1
        seq = responses[0]["seq"]
        assert len(f.seen("down", "received", seq=seq)) >= 2
        assert f.index("down", "received", 1, seq=seq) > f.index("up", "register", 1)


async def test_duplicate_delivery_of_a_trade_executes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with faulty_stack(tmp_path, monkeypatch) as f:
        rule = f.proxy.add_rule("down", lambda m: m["type"] == "trade", "duplicate")
        answer = await f.trade("duplicate-1")
        await _fired(rule)
        command_id = answer["command_id"]
        row = await f.executed_once(command_id)
        # Both copies were acked; the one result the cloud holds is the broker's order.
        assert len(f.seen("up", "ack", command_id=command_id)) == 2
        entry = await f.node.journal.get(command_id)
        assert entry is not None and entry.result is not None
        assert row["result"]["order"] == entry.result["order"]
        assert answer["result"]["order"]["id"] == entry.result["order"]["id"]
        # Every response the node sent for it carries the same seq and outcome.
        responses = f.seen("up", "response", command_id=command_id)
        assert {(r["seq"], r["status"]) for r in responses} == {(entry.seq, "done")}


async def test_replayed_response_and_ack_leave_the_command_done_with_one_trade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with faulty_stack(tmp_path, monkeypatch) as f:
        replay_response = f.proxy.add_rule("up", _is_trade_response, "duplicate")
        replay_ack = f.proxy.add_rule("up", _ack_of_a_trade(f.proxy.log), "duplicate")
        answer = await f.trade("replay-1")
        await _fired(replay_response)
        await _fired(replay_ack)
        command_id = answer["command_id"]
        assert answer["status"] == "done"
        (response,) = f.seen("up", "response", command_id=command_id)  # logged once, sent twice
        # The cloud answered both copies.
        await eventually(lambda: len(f.seen("down", "received", seq=response["seq"])) == 2)
        await f.executed_once(command_id)
        assert await f.status(command_id) == "done"


# -- 7: a hand-written node sends things out of order ---------------------------------


async def _recv_until(
    socket: ClientConnection, want: Callable[[Any], bool], timeout: float = 10
) -> Any:
    """The next message from the cloud that ``want`` accepts (others are skipped)."""

    async def read() -> Any:
        while True:
            message = v1.parse_from_cloud(await socket.recv())
            if want(message):
                return message

    return await asyncio.wait_for(read(), timeout)


async def test_out_of_order_and_replayed_messages_from_a_node(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        url = f"ws://127.0.0.1:{stack.cloud_server.port}{WS}"
        headers = {"Authorization": f"Bearer {stack.node_token}"}
        commands = stack.cloud.commands

        async def status_of(command_id: str) -> dict[str, Any]:
            row = await commands.get(command_id)
            assert row is not None
            return row

        async with connect(url, additional_headers=headers, compression=None) as socket:
            register = v1.Register(
                node_id="local-1",
                account="paper-1",
                broker="paper",
                capabilities=["buy", "sell", "cancel", "export", "status"],
                last_seq=0,
            )
            await socket.send(v1.dump(register))
            ack = await _recv_until(socket, lambda m: True)
            assert isinstance(ack, v1.RegisterAck)

            outcome = await commands.submit(
                CommandType.TRADE, dict(TRADE), node_id="local-1", wait=False
            )
            command_id = outcome.command["id"]
            trade = await _recv_until(
                socket, lambda m: isinstance(m, v1.TradeCommand) and m.id == command_id
            )
            assert trade.data.stock_code == "sh600519"
            assert (await status_of(command_id))["status"] == "sent"

            # The response overtakes its ack: the command is done all the same.
            await socket.send(v1.dump(v1.Response(command_id=command_id, seq=1, status="done")))
            received = await _recv_until(socket, lambda m: isinstance(m, v1.Received))
            assert received.seq == 1
            row = await status_of(command_id)
            assert row["status"] == "done" and row["result"] == {"kind": "none"}

            # The late ack changes nothing (a heartbeat round trip shows it was processed).
            await socket.send(v1.dump(v1.Ack(command_id=command_id)))
            await socket.send(v1.dump(v1.Heartbeat(ts=datetime.now(UTC))))
            assert isinstance(await _recv_until(socket, lambda m: True), v1.Heartbeat)
            assert (await status_of(command_id))["status"] == "done"

            # A replay of seq 1 with another outcome is confirmed but does not rewrite it.
            replay = v1.Response(
                command_id=command_id,
                seq=1,
                status="failed",
                result=ErrorResult(code="replayed", message="replayed"),
            )
            await socket.send(v1.dump(replay))
            received = await _recv_until(socket, lambda m: True)
            assert isinstance(received, v1.Received) and received.seq == 1
            row = await status_of(command_id)
            assert row["status"] == "done" and row["result"] == {"kind": "none"}

            # A response for a command the cloud never sent is confirmed and harmless.
            stranger = v1.Response(command_id="no-such-command", seq=2, status="done")
            await socket.send(v1.dump(stranger))
            received = await _recv_until(socket, lambda m: True)
            assert isinstance(received, v1.Received) and received.seq == 2
            assert await commands.get("no-such-command") is None

            await socket.send(v1.dump(v1.Heartbeat(ts=datetime.now(UTC))))
            assert isinstance(await _recv_until(socket, lambda m: True), v1.Heartbeat)
            link = stack.cloud.hub.links.get("local-1")
            assert link is not None and link.connection_id == ack.connection_id
            assert (await status_of(command_id))["status"] == "done"


async def test_a_command_submitted_while_a_node_registers_follows_the_register_ack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """register_ack is the first thing a node hears, even if a trade is submitted meanwhile.

    The cloud's ``on_register`` (a database write) is held open to widen the window that
    a slow database opens in production.
    """
    async with running_stack(tmp_path, with_node=False) as stack:
        commands = stack.cloud.commands
        original = commands.on_register
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow_on_register(link: Any, message: v1.Register) -> int:
            entered.set()
            await release.wait()
            return await original(link, message)

        monkeypatch.setattr(commands, "on_register", slow_on_register)
        url = f"ws://127.0.0.1:{stack.cloud_server.port}{WS}"
        headers = {"Authorization": f"Bearer {stack.node_token}"}
        async with connect(url, additional_headers=headers, compression=None) as socket:
            register = v1.Register(
                node_id="local-1",
                account="paper-1",
                broker="paper",
                capabilities=["buy", "sell", "cancel", "export", "status"],
                last_seq=0,
            )
            await socket.send(v1.dump(register))
            await asyncio.wait_for(entered.wait(), 10)
            submitting = asyncio.create_task(
                commands.submit(CommandType.TRADE, dict(TRADE), node_id="local-1", wait=False)
            )
            try:
                # Refusing the trade (node not connected yet) or holding it back until the
                # register_ack has gone out are both fine; sending it first is not.
                await asyncio.wait({submitting}, timeout=1)
            finally:
                release.set()
            first = await _recv_until(socket, lambda m: True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(submitting, 10)
            assert isinstance(first, v1.RegisterAck), f"first message was {first.type}"


# -- 8: clock skew on expires_at ------------------------------------------------------


async def test_node_clock_an_hour_ahead_still_executes_a_fresh_trade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ahead() -> datetime:
        return datetime.now(UTC) + timedelta(hours=1)

    async with faulty_stack(tmp_path, monkeypatch, wall_clock=ahead) as f:
        offset = f.node.executor.clock_offset.total_seconds()
        assert abs(offset + 3600) < 5, offset  # measured at connect
        answer = await f.trade("ahead-1")
        assert answer["status"] == "done", answer
        await f.executed_once(answer["command_id"])


async def test_node_clock_an_hour_behind_still_expires_a_late_trade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def behind() -> datetime:
        return datetime.now(UTC) - timedelta(hours=1)

    async with faulty_stack(
        tmp_path, monkeypatch, wall_clock=behind, local_trading={"command_ttl": 0.5}
    ) as f:
        offset = f.node.executor.clock_offset.total_seconds()
        assert abs(offset - 3600) < 5, offset
        rule = f.proxy.add_rule("down", lambda m: m["type"] == "trade", "delay", delay=1.5)
        answer = await f.trade("behind-1")  # arrives 1.5 s after issue, 1 s after expiry
        await _fired(rule)
        command_id = answer["command_id"]
        assert answer["status"] == "expired" and answer["success"] is False, answer
        row = await f.final(command_id)
        assert row["status"] == "expired" and row["result"]["code"] == "expired"
        assert f.placed == []
        assert await f.node.broker.get_orders() == []
        entry = await f.node.journal.get(command_id)
        assert entry is not None and entry.status == "expired"
        await f.outbox_drained()


# -- 9: the cloud restarts while trades are in flight ----------------------------------


async def _start_cloud(tmp: Path, **overrides: Any) -> tuple[CloudRuntime, Running]:
    """A second cloud process on the database of ``running_stack`` (built the same way)."""
    settings = CloudSettings.load(
        None,
        database_url=f"sqlite+aiosqlite:///{tmp / 'cloud.db'}",
        var_dir=tmp,
        agent={"enabled": False, "decision_interval": 0.5},
        market={"sim_interval": 0.2, "store_interval": 0.5},
        **overrides,
    )
    universe = load_universe(SHARED if SHARED.is_dir() else None, 50)
    clock = TradingDayClock(datetime.combine(SIM_DAY, time(9, 30), BEIJING))
    sim = SimMarket(universe, clock, seed=7, interval=0.2)
    symbols: list[dict[str, object]] = [
        {
            "code": i.symbol.full,
            "exchange": i.symbol.exchange.value,
            "board": i.symbol.board.value,
            "name": i.name,
            "previous_close": i.previous_close,
            "is_st": i.is_st,
        }
        for i in universe
    ]
    cloud = CloudRuntime.build(settings, feed=sim, clock=clock, symbols=symbols)
    return cloud, await serve(create_cloud_app(cloud))


async def test_cloud_restart_mid_stream_finishes_every_trade_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 6
    async with faulty_stack(tmp_path, monkeypatch, latency=0.3) as f:
        ids = [await f.submit() for _ in range(count)]
        # Stop the cloud once the broker has placed two: the rest are queued at the slow
        # broker, and every answer is still on its way (the account read queues behind them).
        await eventually(lambda: len(f.returned) >= 2, timeout=10)
        assert len(f.returned) < count
        await f.stack.cloud_server.stop()
        new_server: Running | None = None
        try:
            cloud, new_server = await _start_cloud(tmp_path)
            f.stack.cloud, f.stack.cloud_server = cloud, new_server
            # What the first cloud left behind: some trades were still in flight.
            rows = [await cloud.commands.get(i) for i in ids]
            assert all(r is not None for r in rows)
            unfinished = [r for r in rows if r is not None and r["status"] not in FINAL]
            assert unfinished, "every trade finished before the restart; nothing was in flight"
            # The node keeps dialling the same proxy, which now leads to the new cloud.
            f.proxy.upstream = ("127.0.0.1", new_server.port)
            await f.stack.wait_online()
            for command_id in ids:
                await f.executed_once(command_id)
            assert sorted(f.placed) == sorted(ids)
            async with f.stack.client() as client:
                stored = (await client.get("/api/trades", params={"limit": 5000})).json()
            assert len(stored) == count == len({t["id"] for t in stored})
        finally:
            await f.stack.stop_node()  # while the new cloud is still up
            if new_server is not None:
                await new_server.stop()
