"""Local execution nodes as the cloud last saw them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update

from ..models import NodeRow
from ._base import Repository, table

_nodes = table(NodeRow)


class NodeRepo(Repository):
    async def upsert(
        self,
        node_id: str,
        *,
        account: str,
        broker: str,
        status: str,
        connection_id: str | None,
        last_seen: datetime,
        last_seq: int | None = None,
    ) -> None:
        """Record a node (on register, and on every response that moves ``last_seq``).

        ``registered_at`` is set to ``last_seen`` when the node is first stored and
        whenever its ``connection_id`` changes (a new connection). ``last_seq=None``
        keeps the stored value (0 for a new node); a lower one never replaces a higher one.
        """
        values: dict[str, Any] = {
            "id": node_id,
            "account": account,
            "broker": broker,
            "status": status,
            "connection_id": connection_id,
            "last_seen": last_seen,
            "registered_at": last_seen,
        }
        if last_seq is not None:
            values["last_seq"] = last_seq
        statement = self._insert(_nodes).values(values)
        excluded = statement.excluded
        changes: dict[str, Any] = {
            name: excluded[name]
            for name in ("account", "broker", "status", "connection_id", "last_seen")
        }
        if last_seq is not None:
            # Never backwards: a re-sent or replayed older message must not lower it.
            changes["last_seq"] = case(
                (_nodes.c.last_seq > excluded.last_seq, _nodes.c.last_seq),
                else_=excluded.last_seq,
            )
        # A re-register on the same connection is not a new registration.
        changes["registered_at"] = case(
            (
                _nodes.c.connection_id.is_not_distinct_from(excluded.connection_id),
                _nodes.c.registered_at,
            ),
            else_=excluded.registered_at,
        )
        await self._session.execute(
            statement.on_conflict_do_update(index_elements=["id"], set_=changes)
        )

    async def set_status(self, node_id: str, status: str, last_seen: datetime) -> None:
        """Set status and last_seen of a known node; an unknown node is ignored."""
        await self._session.execute(
            update(_nodes).where(_nodes.c.id == node_id).values(status=status, last_seen=last_seen)
        )

    async def get(self, node_id: str) -> dict[str, Any] | None:
        return await self._one(select(_nodes).where(_nodes.c.id == node_id))

    async def list(self) -> list[dict[str, Any]]:
        return await self._all(select(_nodes).order_by(_nodes.c.id))
