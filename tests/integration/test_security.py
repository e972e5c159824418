"""Node tokens and API keys: rate limits, revocation that bites at once, the node's own key."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aigupiao.store import Database, NodeTokenRepo

from ..conftest import eventually
from .stack import running_stack

WS = "/api/cloud-local-trading/ws"


async def _close_code(url: str, token: str) -> int | None:
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as socket:
        with pytest.raises(ConnectionClosed) as info:
            await socket.recv()
    return info.value.rcvd.code if info.value.rcvd else None


async def test_repeated_bad_tokens_are_throttled(tmp_path: Path) -> None:
    async with running_stack(
        tmp_path, with_node=False, local_trading={"auth_failures_per_minute": 3}
    ) as stack:
        url = f"ws://127.0.0.1:{stack.cloud_server.port}{WS}"
        assert [await _close_code(url, "agn_bad") for _ in range(3)] == [4401, 4401, 4401]
        # Further guesses from that address wait out the window...
        assert await _close_code(url, "agn_bad") == 4429
        # ...but the real node, with its valid token, is never locked out by them.
        node = await stack.start_node()
        await stack.wait_online()
        assert node.link is not None and "4429" not in (node.link.last_error or "")


async def test_token_api_creates_once_lists_without_secret_and_revokes_live_socket(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        admin_key = await stack.add_api_key("ops", "admin")  # node tokens: admin rights only
        async with stack.client(admin_key) as client:
            created = await client.post(
                "/api/nodes/tokens", json={"name": "pc-2", "account": "a-2"}
            )
            assert created.status_code == 201
            token = created.json()["token"]
            again = await client.post("/api/nodes/tokens", json={"name": "pc-2", "account": "a-2"})
            assert again.status_code == 422 and again.json()["detail"]["code"] == "duplicate_name"
            listed = (await client.get("/api/nodes/tokens")).json()
            assert {row["name"] for row in listed} == {"local-1", "pc-2"}
            assert token not in str(listed)

            node = await stack.start_node(token=token, node_id="pc-2", account="a-2")
            await stack.wait_online("pc-2")
            revoked = (await client.delete("/api/nodes/tokens/pc-2")).json()
            assert revoked["disconnected"] == ["pc-2"]
            assert node.link is not None
            await eventually(lambda: node.link.last_error and "4401" in node.link.last_error)
            assert "pc-2" not in stack.cloud.hub.links
            nodes = (await client.get("/api/nodes")).json()
            assert [n["status"] for n in nodes if n["id"] == "pc-2"] == ["offline"]
            assert (await client.delete("/api/nodes/tokens/pc-2")).status_code == 404


async def test_revoking_from_another_process_closes_the_socket_within_seconds(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path) as stack:
        # What `aigupiao node revoke local-1` does: it only writes to the database.
        db = Database(stack.cloud.settings.database_url)
        try:
            async with db.session() as session:
                assert await NodeTokenRepo(session).revoke("local-1")
                await session.commit()
        finally:
            await db.dispose()
        await eventually(lambda: "local-1" not in stack.cloud.hub.links, timeout=5)
        assert stack.node is not None and stack.node.link is not None
        await eventually(lambda: "4401" in (stack.node.link.last_error or ""), timeout=5)


async def test_node_without_a_configured_key_makes_one_and_requires_it(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        node = await stack.start_node(api_key=None)
        key_file = stack.tmp / "node" / "api_key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text().strip()
        assert key == node.api_key and key.startswith("agl_")
        trade = {"action": "buy", "stock_code": "600519", "quantity": 100}
        async with httpx.AsyncClient(base_url=stack.node_url) as client:
            assert (await client.post("/trade", json=trade)).status_code == 401
            assert (await client.post("/export", json={})).status_code == 401
            ok = await client.post("/trade", json=trade, headers={"X-API-Key": key})
            assert ok.json()["status"] == "done"
        # The same key is used again after a restart.
        await stack.stop_node()
        again = await stack.start_node(api_key=None)
        assert again.api_key == key
