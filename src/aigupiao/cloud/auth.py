"""Checking API keys and node tokens, with a short memory.

Verifying a key is a database round trip (and a write: ``last_used_at``), so a key
that checked out is trusted again for ``ttl`` seconds without asking. Revocation
therefore takes effect within ``ttl`` seconds (and at once for revocations made
through this process).
"""

from __future__ import annotations

import time

from aigupiao.store import ApiKeyRepo, Database, NodeTokenRepo, hash_secret


class Authenticator:
    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self._db, self._ttl = db, ttl
        self._known: dict[str, tuple[str, float]] = {}  # hash -> (name, valid until)

    async def name_of(self, key: str, *, nodes: bool) -> str | None:
        """The API key's name, or ``node:NAME`` for a node token if ``nodes``; None if invalid."""
        digest = hash_secret(key)
        cached = self._known.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            if nodes or not cached[0].startswith("node:"):
                return cached[0]
        async with self._db.session() as session:
            name = await ApiKeyRepo(session).verify(key)
            if name is None and nodes:
                identity = await NodeTokenRepo(session).verify(key)
                name = f"node:{identity[0]}" if identity else None
            await session.commit()
        if name is not None:
            self._known[digest] = (name, time.monotonic() + self._ttl)
        return name

    def forget(self) -> None:
        """Drop everything remembered (after a revocation)."""
        self._known.clear()
