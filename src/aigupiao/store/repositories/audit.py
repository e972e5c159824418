"""The audit log and key-value settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..models import AuditRow, SettingRow
from ._base import Repository, table

_audit = table(AuditRow)
_settings = table(SettingRow)


class AuditRepo(Repository):
    """The audit log. Its ``ts`` is wall time, when the change was made: give it no
    ``clock`` but a wall clock (never the market's, which a simulation or a replay moves
    to another day)."""

    async def add(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        """Record that ``actor`` did ``action`` to ``target``. Append-only."""
        # Built once: an audit row rides along with every order (same transaction).
        statement = self._prepared("audit.add", _audit.insert)
        await self._session.execute(
            statement,
            {
                "ts": self._now(),
                "actor": actor,
                "action": action,
                "target": target,
                "detail": detail,
            },
        )

    async def list(
        self, *, limit: int = 200, actor: str | None = None, action: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries, newest first; only ``actor``'s, only ``action`` (a trailing ``*`` matches
        a prefix: ``user.*``) if given."""
        c = _audit.c
        statement = select(_audit)
        if actor is not None:
            statement = statement.where(c.actor == actor)
        if action is not None:
            statement = statement.where(
                c.action.startswith(action[:-1], autoescape=True)
                if action.endswith("*")
                else c.action == action
            )
        return await self._all(statement.order_by(c.id.desc()).limit(limit))


class SettingRepo(Repository):
    async def get(self, key: str) -> Any | None:
        """The stored JSON value, or None."""
        c = _settings.c
        return await self._session.scalar(select(c.value).where(c.key == key))

    async def all(self) -> dict[str, Any]:
        """Every stored setting, by key."""
        c = _settings.c
        rows = await self._all(select(c.key, c.value).order_by(c.key))
        return {row["key"]: row["value"] for row in rows}

    async def set(self, key: str, value: Any) -> None:
        await self._upsert(
            _settings, [{"key": key, "value": value, "updated_at": self._now()}], ["key"]
        )
