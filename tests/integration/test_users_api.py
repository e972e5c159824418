"""People over real HTTP: login and sessions (cookie and bearer), expiry, throttling, every
role boundary, the admin API, the audit log, and the session cookie on ``/api/stream``."""

from __future__ import annotations

import json
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from aigupiao.cloud.auth import LoginThrottle
from aigupiao.domain.users import Role
from aigupiao.store import AuditRepo, UserRepo
from aigupiao.store.models import UserSessionRow

from .stack import Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
TRADE = {"action": "buy", "stock_code": "000001", "quantity": 100}
COOKIE = "aigupiao_session"


async def add_user(stack: Stack, name: str, role: Role, password: str | None = None) -> str:
    password = password or f"{name}-password"
    async with stack.cloud.db.session() as session:
        await UserRepo(session).add(name, password, role)
        await session.commit()
    return password


async def login(stack: Stack, name: str, password: str | None = None) -> httpx.AsyncClient:
    """A client holding ``name``'s session cookie (as the dashboard does)."""
    client = httpx.AsyncClient(base_url=stack.cloud_url, timeout=30)
    answer = await client.post(
        "/api/auth/login", json={"username": name, "password": password or f"{name}-password"}
    )
    assert answer.status_code == 200, answer.text
    return client


async def audit(stack: Stack, **filters: Any) -> list[dict[str, Any]]:
    async with stack.cloud.db.session() as session:
        return await AuditRepo(session).list(**filters)


def _code(response: httpx.Response) -> str:
    return str(response.json()["detail"]["code"])


async def test_login_me_logout_with_the_cookie_and_the_bearer_token(tmp_path: Path) -> None:
    async with (
        running_stack(tmp_path, with_node=False, auth={"session_hours": 2}) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        await add_user(stack, "alice", Role.TRADER)
        wrong = await client.post(
            "/api/auth/login", json={"username": "alice", "password": "not-her-password"}
        )
        assert wrong.status_code == 401 and _code(wrong) == "bad_credentials"
        assert wrong.json()["detail"]["message"] == "用户名或密码错误"
        unknown = await client.post("/api/auth/login", json={"username": "zed", "password": "x"})
        assert unknown.status_code == 401 and _code(unknown) == "bad_credentials"
        assert COOKIE not in client.cookies

        before = datetime.now(UTC)
        answer = await client.post(
            "/api/auth/login", json={"username": "alice", "password": "alice-password"}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["user"] == {"username": "alice", "role": "trader"}
        expires_at = datetime.fromisoformat(body["expires_at"])
        assert before + timedelta(hours=2) <= expires_at <= datetime.now(UTC) + timedelta(hours=2)
        token = body["token"]
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}={token};")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
            assert attribute.lower() in cookie.lower()
        assert client.cookies[COOKIE] == token

        me = await client.get("/api/auth/me")
        assert me.json() == {
            "username": "alice",
            "role": "trader",
            "expires_at": body["expires_at"],
        }
        assert (await client.get("/api/orders")).status_code == 200
        bearer = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=stack.cloud_url, headers=bearer) as api:
            assert (await api.get("/api/auth/me")).json()["username"] == "alice"
            assert (await api.get("/api/positions")).status_code == 200

            logout = await client.post("/api/auth/logout")
            assert logout.status_code == 204
            assert f'{COOKIE}=""' in logout.headers["set-cookie"]
            assert COOKIE not in client.cookies
            # Ended on the server: the same token no longer works, cookie or bearer.
            gone = await api.get("/api/auth/me")
            assert gone.status_code == 401 and _code(gone) == "unauthorized"
            assert (await api.get("/api/orders")).status_code == 401
        assert (await client.get("/api/auth/me")).status_code == 401
        assert (await client.post("/api/auth/logout")).status_code == 204  # nothing to end

        entries = await audit(stack, action="auth.*")
        assert [(e["action"], e["actor"]) for e in entries] == [
            ("auth.logout", "user:alice"),
            ("auth.login", "user:alice"),
            ("auth.login_failed", "user:zed"),
            ("auth.login_failed", "user:alice"),
        ]
        assert entries[1]["detail"]["address"] == "127.0.0.1"


async def test_a_session_expires_on_the_server(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await add_user(stack, "bob", Role.VIEWER)
        client = await login(stack, "bob")
        async with aclosing(client):
            assert (await client.get("/api/orders")).status_code == 200
            async with stack.cloud.db.session() as session:
                await session.execute(
                    update(UserSessionRow).values(
                        expires_at=datetime.now(UTC) - timedelta(seconds=1)
                    )
                )
                await session.commit()
            assert (await client.get("/api/orders")).status_code == 401
            assert (await client.get("/api/auth/me")).status_code == 401


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_wrong_passwords_slow_logins_down_but_never_lock_the_user_out(
    tmp_path: Path,
) -> None:
    async with (
        running_stack(tmp_path, with_node=False, auth={"login_failures": 3}) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        clock = FakeTime()
        stack.cloud_app.state.login_throttle = LoginThrottle.from_settings(
            stack.cloud.settings.auth, clock=clock
        )
        await add_user(stack, "carol", Role.VIEWER)
        await add_user(stack, "dave", Role.VIEWER)
        wrong = {"username": "carol", "password": "guess-guess"}
        for _ in range(3):
            assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        # Inside the wait even the right password is refused unchecked: a guesser cannot
        # tell it was right.
        right = {"username": "carol", "password": "carol-password"}
        refused = await client.post("/api/auth/login", json=right)
        assert refused.status_code == 429 and _code(refused) == "too_many_attempts"
        assert refused.headers["retry-after"] == "1"
        detail = refused.json()["detail"]
        assert detail["reason"] == "username" and detail["retry_after"] == 1
        assert "连续 3 次登录失败" in detail["message"] and "秒后再试" in detail["message"]
        other = {"username": "dave", "password": "dave-password"}
        assert (await client.post("/api/auth/login", json=other)).status_code == 200
        # Each further wrong password doubles the wait...
        clock.now += 1
        assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        again = await client.post("/api/auth/login", json=right)
        assert again.status_code == 429 and again.headers["retry-after"] == "2"
        # ...and once it is over, the right password logs in: no lockout.
        clock.now += 2
        assert (await client.post("/api/auth/login", json=right)).status_code == 200
        assert (await client.post("/api/auth/login", json=right)).status_code == 200


async def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path) -> None:
    """A client that sends its own X-Forwarded-For must not escape the per-address count."""
    failures = {"login_failures": 100, "login_failures_per_address": 2}
    async with (
        running_stack(tmp_path, with_node=False, auth=failures) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        for n in range(2):
            spoofed = {"X-Forwarded-For": f"203.0.113.{n}"}
            bad = {"username": f"user{n}", "password": "guess-guess"}
            answer = await client.post("/api/auth/login", json=bad, headers=spoofed)
            assert answer.status_code == 401
        third = await client.post(
            "/api/auth/login",
            json={"username": "user9", "password": "guess-guess"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert third.status_code == 429, third.text
        assert third.json()["detail"]["reason"] == "address"
        attempts = await audit(stack, action="auth.login_failed")
        assert {e["detail"]["address"] for e in attempts} == {"127.0.0.1"}

    # Behind a trusted proxy, the address it names is the client's.
    proxied = {"trusted_proxies": ["127.0.0.0/8"]}
    async with (
        running_stack(
            tmp_path / "proxied", with_node=False, auth=failures, server=proxied
        ) as stack,
        httpx.AsyncClient(base_url=stack.cloud_url) as client,
    ):
        for n in range(3):
            forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}
            bad = {"username": f"user{n}", "password": "guess-guess"}
            answer = await client.post("/api/auth/login", json=bad, headers=forwarded)
            assert answer.status_code == 401
        attempts = await audit(stack, action="auth.login_failed")
        assert {e["detail"]["address"] for e in attempts} == {f"203.0.113.{n}" for n in range(3)}


async def test_every_role_boundary(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        for name, role in (("vera", Role.VIEWER), ("tom", Role.TRADER), ("ada", Role.ADMIN)):
            await add_user(stack, name, role)
        viewer, trader, admin = [await login(stack, n) for n in ("vera", "tom", "ada")]
        api_key = stack.client()
        node = stack.client(stack.node_token)
        limits = {"limits": {"max_orders_per_minute": 20}}
        try:
            for client in (viewer, trader, admin, api_key):
                for path in ("/api/orders", "/api/risk/state", "/api/nodes", "/api/quotes"):
                    assert (await client.get(path)).status_code == 200, path
                assert (
                    await client.get("/api/cloud-local-trading/local-status")
                ).status_code == 200

            # A viewer reads only: no orders, exports, kill switch or limits.
            for method, path, body in (
                ("POST", EXECUTE, TRADE),
                ("POST", "/api/cloud-local-trading/export-data", {"data_type": "positions"}),
                ("PUT", "/api/risk/state", {"state": "halted"}),
                ("PUT", "/api/risk/limits", limits),
                ("POST", "/api/market/quotes", {"quotes": []}),
            ):
                refused = await viewer.request(method, path, json=body)
                assert refused.status_code == 403, (path, refused.text)
                detail = refused.json()["detail"]
                assert detail["code"] == "forbidden" and detail["required_role"] == "trader"
                assert "交易员" in detail["message"] and "user:vera" in detail["message_en"]

            # A trader (and an API key) trades: past the role check to "no node connected".
            for client in (trader, admin, api_key):
                placed = await client.post(EXECUTE, json=TRADE)
                assert placed.status_code == 409, placed.text
                assert _code(placed) == "node_not_connected"
            assert (await trader.put("/api/risk/limits", json=limits)).status_code == 200

            # Only an admin manages users, keys, settings and node tokens (a trade key too
            # is refused; tests/security has every route with every kind of caller).
            for client in (viewer, trader, api_key):
                for method, path in (
                    ("GET", "/api/admin/users"),
                    ("POST", "/api/admin/apikeys"),
                    ("GET", "/api/admin/audit"),
                    ("PUT", "/api/admin/settings"),
                ):
                    refused = await client.request(method, path, json={"name": "x"})
                    assert refused.status_code == 403, (path, refused.text)
                    assert refused.json()["detail"]["required_role"] == "admin"
            for client in (viewer, trader, api_key):
                listed = await client.get("/api/nodes/tokens")
                assert listed.status_code == 403
                assert listed.json()["detail"]["required_role"] == "admin"
                made = await client.post("/api/nodes/tokens", json={"name": "n", "account": "a"})
                assert made.status_code == 403
            refused = (await api_key.get("/api/nodes/tokens")).json()["detail"]
            assert "apikey:test" in refused["message_en"] and "scope trade" in refused["message_en"]
            assert (await admin.get("/api/nodes/tokens")).status_code == 200
            assert (await admin.get("/api/admin/users")).status_code == 200

            # A node token reads quotes (its paper broker does) and nothing else.
            assert (await node.get("/api/quotes/sh600519")).status_code == 200
            assert (await node.get("/api/orders")).status_code == 401
            assert (await node.post(EXECUTE, json=TRADE)).status_code == 401
        finally:
            for client in (viewer, trader, admin, api_key, node):
                await client.aclose()


async def test_admin_manages_users_and_the_last_admin_stays(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await add_user(stack, "root", Role.ADMIN)
        admin = await login(stack, "root")
        async with aclosing(admin):
            new = {"username": "erin", "password": "erin-password", "role": "viewer"}
            created = await admin.post("/api/admin/users", json=new)
            assert created.status_code == 201, created.text
            assert created.json()["username"] == "erin" and created.json()["role"] == "viewer"
            again = await admin.post("/api/admin/users", json=new)
            assert again.status_code == 409 and _code(again) == "duplicate_name"
            short = await admin.post("/api/admin/users", json={**new, "password": "short"})
            assert short.status_code == 422
            bad_role = await admin.post("/api/admin/users", json={**new, "role": "god"})
            assert bad_role.status_code == 422
            listed = (await admin.get("/api/admin/users")).json()
            assert [(u["username"], u["role"]) for u in listed] == [
                ("root", "admin"),
                ("erin", "viewer"),
            ]
            assert set(listed[0]) == {"username", "role", "created_at"}

            erin = await login(stack, "erin")
            async with aclosing(erin):
                assert (await erin.post(EXECUTE, json=TRADE)).status_code == 403
                promoted = await admin.patch("/api/admin/users/erin", json={"role": "trader"})
                assert promoted.status_code == 200, promoted.text
                assert promoted.json()["role"] == "trader"
                # The role applies to her live session at once.
                assert (await erin.post(EXECUTE, json=TRADE)).status_code == 409
                changed = await admin.patch(
                    "/api/admin/users/erin", json={"password": "erin-new-password"}
                )
                assert changed.status_code == 200
                assert (await erin.get("/api/auth/me")).status_code == 401  # sessions ended
            await (await login(stack, "erin", "erin-new-password")).aclose()

            # The last admin can be neither demoted nor removed; with a second one, yes.
            demote = await admin.patch("/api/admin/users/root", json={"role": "viewer"})
            assert demote.status_code == 409 and _code(demote) == "last_admin"
            remove = await admin.delete("/api/admin/users/root")
            assert remove.status_code == 409 and _code(remove) == "last_admin"
            assert "最后一个管理员" in remove.json()["detail"]["message"]
            assert (await admin.delete("/api/admin/users/nobody")).status_code == 404
            await admin.patch("/api/admin/users/erin", json={"role": "admin"})
            erin = await login(stack, "erin", "erin-new-password")
            async with aclosing(erin):
                # An admin changing their own password keeps the session they use.
                own = await admin.patch(
                    "/api/admin/users/root", json={"password": "root-new-password"}
                )
                assert own.status_code == 200
                assert (await admin.get("/api/auth/me")).status_code == 200
                assert (await erin.delete("/api/admin/users/root")).status_code == 204
                # Removing a user ends their session at once.
                assert (await admin.get("/api/auth/me")).status_code == 401
                last = await erin.delete("/api/admin/users/erin")
                assert last.status_code == 409 and _code(last) == "last_admin"

        entries = await audit(stack, action="user.*")
        assert [(e["actor"], e["action"], e["target"]) for e in reversed(entries)] == [
            ("user:root", "user.create", "erin"),
            ("user:root", "user.update", "erin"),
            ("user:root", "user.update", "erin"),
            ("user:root", "user.update", "erin"),
            ("user:root", "user.update", "root"),
            ("user:erin", "user.remove", "root"),
        ]
        assert entries[-2]["detail"] == {"role": {"from": "viewer", "to": "trader"}}
        assert entries[-3]["detail"] == {"password": "changed", "sessions_ended": 1}
        assert entries[1]["detail"] == {"password": "changed", "sessions_ended": 0}


async def test_admin_api_keys_settings_node_tokens_and_the_audit_log(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await add_user(stack, "root", Role.ADMIN)
        admin = await login(stack, "root")
        async with aclosing(admin):
            made = await admin.post("/api/admin/apikeys", json={"name": "bot"})
            assert made.status_code == 201
            key = made.json()["key"]
            assert made.json()["name"] == "bot" and key.startswith("agp_")
            dup = await admin.post("/api/admin/apikeys", json={"name": "bot"})
            assert dup.status_code == 409
            keys = (await admin.get("/api/admin/apikeys")).json()
            assert [k["name"] for k in keys] == ["test", "bot"]
            assert set(keys[1]) == {
                "name", "prefix", "scope", "created_at", "last_used_at", "revoked_at"
            }  # fmt: skip
            assert [k["scope"] for k in keys] == ["trade", "trade"]  # the default
            assert key not in json.dumps(keys) and key.startswith(keys[1]["prefix"])
            reader = await admin.post("/api/admin/apikeys", json={"name": "ro", "scope": "read"})
            assert reader.status_code == 201 and reader.json()["scope"] == "read"
            bad = await admin.post("/api/admin/apikeys", json={"name": "x", "scope": "root"})
            assert bad.status_code == 422
            scopes = {k["name"]: k["scope"] for k in (await admin.get("/api/admin/apikeys")).json()}
            assert scopes == {"test": "trade", "bot": "trade", "ro": "read"}
            async with stack.client(reader.json()["key"]) as read_only:
                assert (await read_only.get("/api/orders")).status_code == 200
                refused = await read_only.post(EXECUTE, json=TRADE)
                assert refused.status_code == 403
                assert refused.json()["detail"]["required_role"] == "trader"
            async with stack.client(key) as bot:
                assert (await bot.get("/api/orders")).status_code == 200
                revoked = await admin.delete("/api/admin/apikeys/bot")
                assert revoked.json() == {"name": "bot", "revoked": True}
                assert (await bot.get("/api/orders")).status_code == 401  # at once
            assert (await admin.delete("/api/admin/apikeys/bot")).status_code == 404
            listed = (await admin.get("/api/admin/apikeys")).json()
            assert listed[1]["revoked_at"] is not None and listed[1]["last_used_at"] is not None

            stored = await admin.put(
                "/api/admin/settings", json={"dashboard.theme": "dark", "ui.codes": ["sh600519"]}
            )
            assert stored.status_code == 200
            assert stored.json()["dashboard.theme"] == "dark"
            settings = (await admin.get("/api/admin/settings")).json()
            assert settings["ui.codes"] == ["sh600519"]
            managed = await admin.put("/api/admin/settings", json={"risk.state": {}})
            assert managed.status_code == 422 and _code(managed) == "managed_setting"

            token = await admin.post("/api/nodes/tokens", json={"name": "pc-9", "account": "a-9"})
            assert token.status_code == 201 and token.json()["token"].startswith("agn_")
            assert (await admin.delete("/api/nodes/tokens/pc-9")).status_code == 200
            halted = await admin.put("/api/risk/state", json={"state": "halted", "reason": "t"})
            assert halted.status_code == 200

            everything = (await admin.get("/api/admin/audit")).json()
            assert [(e["actor"], e["action"]) for e in everything][:7] == [
                ("user:root", "risk.state"),
                ("user:root", "node_token.revoke"),
                ("user:root", "node_token.create"),
                ("user:root", "settings.update"),
                ("user:root", "apikey.revoke"),
                ("user:root", "apikey.create"),
                ("user:root", "apikey.create"),
            ]
            assert set(everything[0]) == {"id", "ts", "actor", "action", "target", "detail"}
            assert everything[3]["detail"]["dashboard.theme"] == {"from": None, "to": "dark"}
            only = (await admin.get("/api/admin/audit", params={"action": "apikey.*"})).json()
            assert [e["action"] for e in only] == [
                "apikey.revoke",
                "apikey.create",
                "apikey.create",
            ]
            assert only[1]["detail"] == {"scope": "read"}
            limited = await admin.get("/api/admin/audit", params={"actor": "user:root", "limit": 2})
            assert len(limited.json()) == 2
            nobody = await admin.get("/api/admin/audit", params={"actor": "user:nobody"})
            assert nobody.json() == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN])
async def test_the_stream_takes_the_session_cookie(tmp_path: Path, role: Role) -> None:
    async with running_stack(tmp_path, with_node=False) as stack:
        await add_user(stack, "watcher", role)
        client = await login(stack, "watcher")
        token = client.cookies[COOKIE]
        await client.aclose()
        url = f"ws://127.0.0.1:{stack.cloud_server.port}/api/stream"
        same_site = {"Cookie": f"{COOKIE}={token}", "Origin": stack.cloud_url}
        async with connect(url, additional_headers=same_site) as socket:
            await socket.send(json.dumps({"op": "subscribe", "codes": ["sh600519"]}))
            answer = json.loads(await socket.recv())
            assert answer["type"] == "subscribed" and answer["codes"] == ["sh600519"]
            while (pushed := json.loads(await socket.recv()))["type"] != "quotes":
                pass
            assert pushed["quotes"][0]["code"] == "sh600519"

        for headers, code in (
            ({"Cookie": f"{COOKIE}=ags_forged"}, 4401),
            ({}, 4401),
            # Another site's page cannot use our cookie.
            ({"Cookie": f"{COOKIE}={token}", "Origin": "http://evil.example"}, 4403),
        ):
            async with connect(url, additional_headers=headers) as socket:
                with pytest.raises(ConnectionClosed) as info:
                    await socket.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == code

        # Pushing quotes needs a trader: a viewer's session is refused with 4403.
        async with connect(
            f"ws://127.0.0.1:{stack.cloud_server.port}/api/market/ws",
            additional_headers={"Cookie": f"{COOKIE}={token}"},
        ) as socket:
            if role is Role.VIEWER:
                with pytest.raises(ConnectionClosed) as info:
                    await socket.recv()
                assert info.value.rcvd is not None and info.value.rcvd.code == 4403
            else:
                await socket.send(json.dumps({"quotes": []}))
                assert json.loads(await socket.recv())["type"] == "ack"
