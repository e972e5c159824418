"""Several local nodes at once: each with its own token and account; commands routed to them."""

from __future__ import annotations

from pathlib import Path

from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.local.app import create_app as create_local_app
from aigupiao.local.runtime import LocalRuntime
from aigupiao.local.settings import LocalSettings

from ..conftest import eventually
from .stack import Running, Stack, running_stack, serve

TRADE = {"action": "buy", "stock_code": "000001", "quantity": 100, "price": None}
EXECUTE = "/api/cloud-local-trading/execute-trade"


async def test_two_nodes_two_accounts_commands_routed_by_account_or_node(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack, stack.client() as client:
        async with stack.client(await stack.add_api_key("ops", "admin")) as admin:
            created = await admin.post(
                "/api/nodes/tokens", json={"name": "pc-2", "account": "acct-2"}
            )
        token = created.json()["token"]
        second, server = await _second_node(stack, token, tmp_path / "node-2")
        try:
            await stack.wait_online("pc-2")
            status = (await client.get("/api/cloud-local-trading/local-status")).json()
            assert status["node_count"] == 2 and status["default_node"] is None

            ambiguous = await client.post(EXECUTE, json=TRADE)
            assert ambiguous.status_code == 409
            assert ambiguous.json()["detail"]["code"] == "node_ambiguous"

            by_account = (await client.post(EXECUTE, json={**TRADE, "account": "acct-2"})).json()
            assert by_account["node_id"] == "pc-2" and by_account["status"] == "done"
            by_node = (await client.post(EXECUTE, json={**TRADE, "node_id": "local-1"})).json()
            assert by_node["node_id"] == "local-1" and by_node["status"] == "done"

            assert len(await second.broker.get_trades()) == 1
            assert stack.node is not None and len(await stack.node.broker.get_trades()) == 1
            trades = (await client.get("/api/trades")).json()
            assert sorted(t["account"] for t in trades) == ["acct-2", "paper-1"]
            unknown = await client.post(EXECUTE, json={**TRADE, "account": "nobody"})
            assert unknown.status_code == 409

            nodes = {n["id"]: n for n in (await client.get("/api/nodes")).json()}
            assert nodes["pc-2"]["account"] == "acct-2" and nodes["pc-2"]["status"] == "online"
        finally:
            await server.stop()
        await eventually(lambda: "pc-2" not in stack.cloud.hub.links)
        nodes = {n["id"]: n for n in (await client.get("/api/nodes")).json()}
        assert nodes["pc-2"]["status"] == "offline" and nodes["local-1"]["status"] == "online"
        # With one node left it is the default again. (Another quantity: the same order for
        # the same account within the risk gate's duplicate window would be refused.)
        again = {**TRADE, "quantity": 200}
        assert (await client.post(EXECUTE, json=again)).json()["node_id"] == "local-1"


async def _second_node(stack: Stack, token: str, data_dir: Path) -> tuple[LocalRuntime, Running]:
    settings = LocalSettings.load(
        None,
        server={"host": "127.0.0.1", "port": 0, "api_key": "k2"},
        cloud={
            "api_url": stack.cloud_url,
            "websocket_url": f"ws://127.0.0.1:{stack.cloud_server.port}/api/cloud-local-trading/ws",
            "token": token,
        },
        node={"id": "pc-2", "account": "acct-2", "data_dir": data_dir},
    )
    broker = PaperBroker("acct-2", settings.trading.paper_cash, stack.cloud.clock, stack.sim.latest)
    runtime = LocalRuntime.build(settings, broker)
    return runtime, await serve(create_local_app(runtime))
