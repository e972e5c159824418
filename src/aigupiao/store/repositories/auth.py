"""API keys (dashboard and API clients) and node tokens (local nodes).

Both are random secrets shown once: only their SHA-256 and a short display
prefix are stored (see :mod:`aigupiao.store.secrets`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Table, select, update

from ..errors import DuplicateName
from ..models import ApiKeyRow, NodeTokenRow
from ..secrets import API_KEY_PREFIX, NODE_TOKEN_PREFIX, display_prefix, hash_secret, new_secret
from ._base import Repository, table


class _SecretRepo(Repository):
    _table: ClassVar[Table]

    async def revoke(self, name: str) -> bool:
        """Revoke by name; False if there is no such name or it was already revoked."""
        c = self._table.c
        result = await self._execute_count(
            update(self._table)
            .where(c.name == name, c.revoked_at.is_(None))
            .values(revoked_at=self._now())
        )
        return result > 0


class ApiKeyRepo(_SecretRepo):
    _table = table(ApiKeyRow)

    async def add(self, name: str) -> str:
        """Create a key named ``name``; returns the plaintext key, which is not stored.

        Raises:
            DuplicateName: a key with this name exists (revoked or not).
        """
        key = new_secret(API_KEY_PREFIX)
        inserted = await self._execute_count(
            self._insert(self._table)
            .values(
                name=name,
                key_hash=hash_secret(key),
                prefix=display_prefix(key),
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if inserted == 0:
            raise DuplicateName("API key", name)
        return key

    async def verify(self, key: str) -> str | None:
        """The name of the key if it is valid and not revoked (and note its use); else None."""
        table = self._table
        name: str | None = await self._session.scalar(
            update(table)
            .where(table.c.key_hash == hash_secret(key), table.c.revoked_at.is_(None))
            .values(last_used_at=self._now())
            .returning(table.c.name)
        )
        return name

    async def list(self) -> list[dict[str, Any]]:
        """Every key, revoked ones included, oldest first; never the hash."""
        c = self._table.c
        return await self._all(
            select(c.name, c.prefix, c.created_at, c.revoked_at, c.last_used_at).order_by(c.id)
        )


class NodeTokenRepo(_SecretRepo):
    _table = table(NodeTokenRow)

    async def add(self, name: str, account: str) -> str:
        """Create a token for a node trading ``account``; returns the plaintext token.

        Raises:
            DuplicateName: a token with this name exists (revoked or not).
        """
        token = new_secret(NODE_TOKEN_PREFIX)
        inserted = await self._execute_count(
            self._insert(self._table)
            .values(
                name=name,
                account=account,
                token_hash=hash_secret(token),
                prefix=display_prefix(token),
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if inserted == 0:
            raise DuplicateName("node token", name)
        return token

    async def verify(self, token: str) -> tuple[str, str] | None:
        """``(name, account)`` if the token is valid and not revoked; else None."""
        c = self._table.c
        row = (
            await self._session.execute(
                select(c.name, c.account).where(
                    c.token_hash == hash_secret(token), c.revoked_at.is_(None)
                )
            )
        ).first()
        return (row.name, row.account) if row is not None else None

    async def list(self) -> list[dict[str, Any]]:
        """Every token, revoked ones included, oldest first; never the hash."""
        c = self._table.c
        return await self._all(
            select(c.name, c.account, c.prefix, c.created_at, c.revoked_at).order_by(c.id)
        )
