"""The audit log and key-value settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..models import AuditRow, SettingRow
from ._base import Repository, table

_audit = table(AuditRow)
_settings = table(SettingRow)


class AuditRepo(Repository):
    async def add(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        """Record that ``actor`` did ``action`` to ``target``. Append-only."""
        await self._session.execute(
            _audit.insert().values(
                ts=self._now(), actor=actor, action=action, target=target, detail=detail
            )
        )

    async def list(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Entries, newest first."""
        c = _audit.c
        return await self._all(select(_audit).order_by(c.id.desc()).limit(limit))


class SettingRepo(Repository):
    async def get(self, key: str) -> Any | None:
        """The stored JSON value, or None."""
        c = _settings.c
        return await self._session.scalar(select(c.value).where(c.key == key))

    async def set(self, key: str, value: Any) -> None:
        await self._upsert(
            _settings, [{"key": key, "value": value, "updated_at": self._now()}], ["key"]
        )
