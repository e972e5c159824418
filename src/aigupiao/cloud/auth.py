"""Who is calling: people's sessions, API keys and node tokens; login throttling.

Three kinds of callers (:class:`Principal`):

- people, logged in through ``POST /api/auth/login``: a session token (cookie
  ``aigupiao_session`` or ``Authorization: Bearer ags_...``) with the user's role;
- machines with an API key (``agp_...``): act as ``trader``, never ``admin``;
- local nodes with a node token (``agn_...``): only where nodes read (quotes).

Sessions are looked up in the database on every request, so logout, removing a user
or changing a role bites at once. Verifying an API key is a database round trip (and
a write: ``last_used_at``), so a key that checked out is trusted again for ``ttl``
seconds without asking; revocation takes effect within ``ttl`` seconds (and at once for
revocations made through this process).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aigupiao.domain.users import Role
from aigupiao.store import ApiKeyRepo, Database, NodeTokenRepo, UserSessionRepo, hash_secret
from aigupiao.store.repositories.users import SESSION_PREFIX

from .settings import AuthSection

Kind = Literal["user", "apikey", "node"]

_MAX_TRACKED = 10_000  # names and addresses with recent failures before a sweep


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``role`` is None for a node (nodes have no role)."""

    kind: Kind
    name: str
    role: Role | None
    expires_at: datetime | None = None  # sessions only

    @property
    def actor(self) -> str:
        """How the audit log names the caller: ``user:NAME``, ``apikey:NAME``, ``node:NAME``."""
        return f"{self.kind}:{self.name}"

    def may(self, needed: Role) -> bool:
        return self.role is not None and self.role.includes(needed)


class Authenticator:
    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self._db, self._ttl = db, ttl
        self._known: dict[str, tuple[str, float]] = {}  # hash -> (name, valid until)

    async def principal(self, secret: str, *, nodes: bool) -> Principal | None:
        """The caller presenting ``secret`` (a session token, API key, or a node token if
        ``nodes``); None if it is not valid."""
        if secret.startswith(SESSION_PREFIX):
            async with self._db.session() as session:
                row = await UserSessionRepo(session).resolve(secret)
                await session.commit()
            if row is None:
                return None
            return Principal("user", row["username"], Role(row["role"]), row["expires_at"])
        name = await self.name_of(secret, nodes=nodes)
        if name is None:
            return None
        if name.startswith("node:"):
            return Principal("node", name.removeprefix("node:"), None)
        return Principal("apikey", name, Role.TRADER)

    async def name_of(self, key: str, *, nodes: bool) -> str | None:
        """The API key's name, or ``node:NAME`` for a node token if ``nodes``; None if invalid."""
        digest = hash_secret(key)
        cached = self._known.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            if nodes or not cached[0].startswith("node:"):
                return cached[0]
        async with self._db.session() as session:
            found = await ApiKeyRepo(session).verify(key)
            name = found.name if found else None
            if name is None and nodes:
                identity = await NodeTokenRepo(session).verify(key)
                name = f"node:{identity.name}" if identity else None
            await session.commit()
        if name is not None:
            self._known[digest] = (name, time.monotonic() + self._ttl)
        return name

    def forget(self) -> None:
        """Drop everything remembered (after a revocation)."""
        self._known.clear()


class LoginThrottle:
    """Counts wrong passwords per username and per client address in a sliding window.

    Past ``per_user`` failures for a name (or ``per_address`` from one address) within
    ``window`` seconds, logins are refused until the oldest failure leaves the window,
    even with the right password: guessing stays slow whoever guesses. A success clears
    the name's count. The counts live in this process (each replica counts its own).
    """

    def __init__(
        self,
        per_user: int,
        per_address: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window, self._clock = window, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    @classmethod
    def from_settings(cls, settings: AuthSection) -> LoginThrottle:
        return cls(
            settings.login_failures, settings.login_failures_per_address, settings.login_window_s
        )

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        horizon = self._clock() - self._window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until a login for ``username`` from ``address`` is allowed; None if now."""
        waits = []
        for key in (("user", username.lower()), ("address", address)):
            times = self._recent(key)
            if len(times) >= self._limits[key[0]]:
                waits.append(times[-self._limits[key[0]]] + self._window - self._clock())
        return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        if len(self._failures) > _MAX_TRACKED:  # names made up by a guesser: drop the old
            for key in list(self._failures):
                self._recent(key)
        for key in (("user", username.lower()), ("address", address)):
            self._recent(key)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(("user", username.lower()), None)
