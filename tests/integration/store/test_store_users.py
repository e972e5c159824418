"""Users and sessions: argon2 hashes, roles, sessions that expire, end, and die with the user.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aigupiao.core.clock import ManualClock
from aigupiao.domain.users import InvalidUsername, Role
from aigupiao.store import Database, DuplicateName, UserRepo, UserSessionRepo, hash_secret
from aigupiao.store.models import UserRow, UserSessionRow

T0 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def _rows(db: Database, table: Any) -> list[str]:
    async with db.session() as session:
        rows = (await session.execute(select(table))).all()
    return [str(value) for row in rows for value in row]


async def test_users_are_stored_with_argon2_hashes_and_roles(db: Database) -> None:
    async with db.session() as session:
        users = UserRepo(session)
        await users.add("alice", "alice-password", Role.ADMIN)
        await users.add("bob", "bob-password", Role.VIEWER)
        with pytest.raises(DuplicateName):
            await users.add("alice", "another-one", Role.VIEWER)
        with pytest.raises(InvalidUsername):
            await users.add("no spaces", "whatever-pw", Role.VIEWER)
        await session.commit()

    stored = await _rows(db, UserRow.__table__)
    assert not any("alice-password" in value for value in stored)
    assert any(value.startswith("$argon2id$") for value in stored)

    async with db.session() as session:
        users = UserRepo(session)
        assert [(u["username"], u["role"]) for u in await users.list()] == [
            ("alice", "admin"),
            ("bob", "viewer"),
        ]
        assert set((await users.list())[0]) == {"username", "role", "created_at"}
        assert await users.count() == 2
        assert list(await users.admins()) == ["alice"]
        good = await users.authenticate("alice", "alice-password")
        assert good is not None and good["role"] == "admin" and "password_hash" not in good
        assert await users.authenticate("alice", "bob-password") is None
        assert await users.authenticate("nobody", "alice-password") is None

        assert await users.set_role("bob", Role.TRADER)
        assert not await users.set_role("nobody", Role.TRADER)
        assert await users.set_password("bob", "new-bob-password")
        await session.commit()
    async with db.session() as session:
        users = UserRepo(session)
        assert await users.authenticate("bob", "bob-password") is None
        bob = await users.authenticate("bob", "new-bob-password")
        assert bob is not None and bob["role"] == "trader"


async def test_sessions_resolve_until_they_expire_end_or_lose_their_user(db: Database) -> None:
    clock = ManualClock(T0)
    async with db.session() as session:
        await UserRepo(session).add("carol", "carol-password", Role.TRADER)
        sessions = UserSessionRepo(session, clock=clock)
        token, expires_at = await sessions.create("carol", 12 * HOUR)
        other, _ = await sessions.create("carol", 12 * HOUR)
        short, _ = await sessions.create("carol", HOUR)
        await session.commit()
    assert token.startswith("ags_") and expires_at == T0 + 12 * HOUR
    stored = await _rows(db, UserSessionRow.__table__)
    assert hash_secret(token) in stored and not any(token in value for value in stored)

    async with db.session() as session:
        sessions = UserSessionRepo(session, clock=clock)
        live = await sessions.resolve(token)
        assert live == {
            "username": "carol",
            "role": "trader",
            "expires_at": T0 + 12 * HOUR,
            "created_at": T0,
        }
        assert await sessions.resolve(token + "x") is None
        clock.advance(2 * 3600)
        assert await sessions.resolve(short) is None  # past its hour
        assert await sessions.resolve(token) is not None
        assert await sessions.purge_expired() == 1
        await session.commit()

    async with db.session() as session:
        # last_seen_at moved when the session was used two hours later
        (seen,) = [
            row["last_seen_at"]
            for row in await UserSessionRepo(session).list("carol")
            if row["expires_at"] == T0 + 12 * HOUR and row["last_seen_at"] != T0
        ]
        assert seen == T0 + 2 * HOUR

    async with db.session() as session:
        sessions = UserSessionRepo(session, clock=clock)
        assert await sessions.end(other)
        assert not await sessions.end(other)
        assert await sessions.resolve(other) is None
        third, _ = await sessions.create("carol", HOUR)
        assert await sessions.end_all("carol", keep=third) == 1  # ``token`` ends, ``third`` not
        assert await sessions.resolve(token) is None
        assert await sessions.resolve(third) is not None
        await session.commit()

    async with db.session() as session:
        assert await UserRepo(session, clock=clock).remove("carol")
        assert not await UserRepo(session, clock=clock).remove("carol")
        assert await UserSessionRepo(session, clock=clock).resolve(third) is None
        assert await UserSessionRepo(session).list("carol") == []
        await session.commit()


async def test_a_role_change_applies_to_live_sessions(db: Database) -> None:
    async with db.session() as session:
        await UserRepo(session).add("dave", "dave-password", Role.ADMIN)
        token, _ = await UserSessionRepo(session).create("dave", HOUR)
        await UserRepo(session).set_role("dave", Role.VIEWER)
        resolved = await UserSessionRepo(session).resolve(token)
        await session.commit()
    assert resolved is not None and resolved["role"] == "viewer"
