"""API keys and node tokens: shown once, stored hashed, verifiable, revocable."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from aigupiao.store import ApiKeyRepo, Database, DuplicateName, NodeTokenRepo, hash_secret
from aigupiao.store.models import ApiKeyRow, NodeTokenRow


async def _stored_values(db: Database, table: object) -> list[str]:
    async with db.session() as session:
        rows = (await session.execute(select(table))).all()
    return [str(value) for row in rows for value in row]


async def test_api_key_lifecycle(db: Database) -> None:
    async with db.session() as session:
        key = await ApiKeyRepo(session).add("dashboard")
        await session.commit()
    assert key.startswith("agp_") and len(key) > 40

    stored = await _stored_values(db, ApiKeyRow.__table__)
    assert not any(key in value for value in stored), "plaintext key stored"
    assert hash_secret(key) in stored

    async with db.session() as session:
        repo = ApiKeyRepo(session)
        assert await repo.verify(key) == ("dashboard", "trade")
        assert await repo.verify(key + "x") is None
        assert await repo.verify("") is None
        await session.commit()

    async with db.session() as session:
        [listed] = await ApiKeyRepo(session).list()
    assert set(listed) == {"name", "prefix", "scope", "created_at", "revoked_at", "last_used_at"}
    assert listed["name"] == "dashboard"
    assert key.startswith(listed["prefix"]) and len(listed["prefix"]) < 16
    assert isinstance(listed["last_used_at"], datetime) and listed["last_used_at"].tzinfo
    assert listed["revoked_at"] is None

    async with db.session() as session:
        repo = ApiKeyRepo(session)
        assert await repo.revoke("dashboard") is True
        assert await repo.revoke("dashboard") is False
        assert await repo.revoke("nobody") is False
        await session.commit()
    async with db.session() as session:
        assert await ApiKeyRepo(session).verify(key) is None
        [listed] = await ApiKeyRepo(session).list()
    assert listed["revoked_at"] is not None


async def test_api_key_duplicate_name_is_rejected_and_the_session_stays_usable(
    db: Database,
) -> None:
    async with db.session() as session:
        repo = ApiKeyRepo(session)
        first = await repo.add("ci")
        with pytest.raises(DuplicateName) as caught:
            await repo.add("ci")
        assert isinstance(caught.value, ValueError)
        assert caught.value.as_dict()["code"] == "duplicate_name"
        await repo.add("other")  # the transaction was not aborted
        await session.commit()
    async with db.session() as session:
        assert [k["name"] for k in await ApiKeyRepo(session).list()] == ["ci", "other"]
        assert await ApiKeyRepo(session).verify(first) == ("ci", "trade")


async def test_node_token_lifecycle(db: Database) -> None:
    async with db.session() as session:
        token = await NodeTokenRepo(session).add("pc-1", "acct-1")
        await session.commit()
    assert token.startswith("agn_")

    stored = await _stored_values(db, NodeTokenRow.__table__)
    assert not any(token in value for value in stored), "plaintext token stored"

    async with db.session() as session:
        repo = NodeTokenRepo(session)
        assert await repo.verify(token) == ("pc-1", "acct-1", "pc-1")
        assert await repo.verify("agn_wrong") is None
        [listed] = await repo.list()
        assert listed["name"] == "pc-1" and listed["account"] == "acct-1"
        assert "token_hash" not in listed
        with pytest.raises(DuplicateName):
            await repo.add("pc-1", "acct-2")
        assert await repo.revoke("pc-1") is True
        await session.commit()
    async with db.session() as session:
        assert await NodeTokenRepo(session).verify(token) is None
