"""API keys (dashboard and API clients) and node tokens (local nodes).

Both are random secrets shown once: only their SHA-256 and a short display
prefix are stored (see :mod:`aigupiao.store.secrets`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from sqlalchemy import Table, select, update

from ..errors import DuplicateName
from ..models import ApiKeyRow, NodeTokenRow
from ..secrets import API_KEY_PREFIX, NODE_TOKEN_PREFIX, display_prefix, hash_secret, new_secret
from ._base import Repository, table

Scope = Literal["read", "trade", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "trade", "admin")


class KeyIdentity(NamedTuple):
    """A valid API key: its name and what it may do."""

    name: str
    scope: Scope


class NodeIdentity(NamedTuple):
    """A valid node token: its name, the one account and the one node id it is for."""

    name: str
    account: str
    node_id: str


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

    async def add(self, name: str, scope: Scope = "trade") -> str:
        """Create a key named ``name`` with ``scope``; returns the plaintext key, which is
        not stored.

        Raises:
            DuplicateName: a key with this name exists (revoked or not).
            ValueError: an unknown scope.
        """
        if scope not in SCOPES:
            raise ValueError(f"unknown API key scope {scope!r}; one of {', '.join(SCOPES)}")
        key = new_secret(API_KEY_PREFIX)
        inserted = await self._execute_count(
            self._insert(self._table)
            .values(
                name=name,
                key_hash=hash_secret(key),
                prefix=display_prefix(key),
                scope=scope,
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if inserted == 0:
            raise DuplicateName("API key", name)
        return key

    async def verify(self, key: str) -> KeyIdentity | None:
        """The key's name and scope if it is valid and not revoked (and note its use);
        else None."""
        table = self._table
        row = (
            await self._session.execute(
                update(table)
                .where(table.c.key_hash == hash_secret(key), table.c.revoked_at.is_(None))
                .values(last_used_at=self._now())
                .returning(table.c.name, table.c.scope)
            )
        ).first()
        if row is None:
            return None
        scope = row.scope if row.scope in SCOPES else "read"  # an unknown scope grants least
        return KeyIdentity(row.name, scope)

    async def list(self) -> list[dict[str, Any]]:
        """Every key, revoked ones included, oldest first; never the hash."""
        c = self._table.c
        return await self._all(
            select(c.name, c.prefix, c.scope, c.created_at, c.revoked_at, c.last_used_at).order_by(
                c.id
            )
        )


class NodeTokenRepo(_SecretRepo):
    _table = table(NodeTokenRow)

    async def add(self, name: str, account: str, node_id: str | None = None) -> str:
        """Create a token for node ``node_id`` (default: ``name``) trading ``account``;
        returns the plaintext token. Only that node id may register with it.

        Raises:
            DuplicateName: a token with this name exists (revoked or not).
        """
        token = new_secret(NODE_TOKEN_PREFIX)
        inserted = await self._execute_count(
            self._insert(self._table)
            .values(
                name=name,
                account=account,
                node_id=node_id or name,
                token_hash=hash_secret(token),
                prefix=display_prefix(token),
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if inserted == 0:
            raise DuplicateName("node token", name)
        return token

    async def verify(self, token: str) -> NodeIdentity | None:
        """Who the token is for, if it is valid and not revoked; else None."""
        c = self._table.c
        row = (
            await self._session.execute(
                select(c.name, c.account, c.node_id).where(
                    c.token_hash == hash_secret(token), c.revoked_at.is_(None)
                )
            )
        ).first()
        return NodeIdentity(row.name, row.account, row.node_id) if row is not None else None

    async def list(self) -> list[dict[str, Any]]:
        """Every token, revoked ones included, oldest first; never the hash."""
        c = self._table.c
        return await self._all(
            select(c.name, c.account, c.node_id, c.prefix, c.created_at, c.revoked_at).order_by(
                c.id
            )
        )
