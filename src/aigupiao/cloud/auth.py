"""Who is calling: people's sessions, API keys and node tokens; login throttling.

Three kinds of callers (:class:`Principal`):

- people, logged in through ``POST /api/auth/login``: a session token (cookie
  ``aigupiao_session`` or ``Authorization: Bearer ags_...``) with the user's role;
- machines with an API key (``agp_...``): the key's scope is its role (``read`` acts as
  viewer, ``trade`` as trader, ``admin`` as admin; :data:`SCOPE_ROLES`);
- local nodes with a node token (``agn_...``): only where nodes read (quotes).

Sessions are looked up in the database on every request, so logout, removing a user
or changing a role bites at once. Verifying an API key is a database round trip (and
a write: ``last_used_at``), so a key that checked out is trusted again (with its scope)
for ``ttl`` seconds without asking; revocation takes effect within ``ttl`` seconds (and
at once for revocations made through this process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from aigupiao.domain.users import Role
from aigupiao.store import ApiKeyRepo, Database, NodeTokenRepo, UserSessionRepo, hash_secret
from aigupiao.store.repositories.auth import Scope
from aigupiao.store.repositories.users import SESSION_PREFIX

from .settings import AuthSection

Kind = Literal["user", "apikey", "node"]

# What an API key of each scope may do: the role it acts as.
SCOPE_ROLES: dict[Scope, Role] = {"read": Role.VIEWER, "trade": Role.TRADER, "admin": Role.ADMIN}

_MAX_TRACKED = 10_000  # names and addresses with recent failures before a sweep


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``role`` is None for a node (nodes have no role);
    ``scope`` is an API key's (None for the others)."""

    kind: Kind
    name: str
    role: Role | None
    expires_at: datetime | None = None  # sessions only
    scope: Scope | None = None  # API keys only

    @property
    def actor(self) -> str:
        """How the audit log names the caller: ``user:NAME``, ``apikey:NAME``, ``node:NAME``."""
        return f"{self.kind}:{self.name}"

    def may(self, needed: Role) -> bool:
        return self.role is not None and self.role.includes(needed)


class _Known(NamedTuple):
    """A key or token that checked out, remembered until ``until``."""

    kind: Literal["apikey", "node"]
    name: str
    scope: Scope | None
    until: float


class Authenticator:
    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self._db, self._ttl = db, ttl
        self._known: dict[str, _Known] = {}  # hash -> what it is, until when

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
        known = await self._identify(secret, nodes=nodes)
        if known is None:
            return None
        if known.kind == "node":
            return Principal("node", known.name, None)
        assert known.scope is not None
        return Principal("apikey", known.name, SCOPE_ROLES[known.scope], scope=known.scope)

    async def _identify(self, key: str, *, nodes: bool) -> _Known | None:
        """The API key (with its scope), or the node token if ``nodes``; None if invalid."""
        digest = hash_secret(key)
        cached = self._known.get(digest)
        if cached is not None and cached.until > time.monotonic():
            if nodes or cached.kind != "node":
                return cached
        until = time.monotonic() + self._ttl
        known: _Known | None = None
        async with self._db.session() as session:
            found = await ApiKeyRepo(session).verify(key)
            if found is not None:
                known = _Known("apikey", found.name, found.scope, until)
            elif nodes:
                identity = await NodeTokenRepo(session).verify(key)
                if identity is not None:
                    known = _Known("node", identity.name, None, until)
            await session.commit()
        if known is not None:
            self._known[digest] = known
        return known

    def forget(self) -> None:
        """Drop everything remembered (after a revocation)."""
        self._known.clear()


@dataclass
class _Failures:
    count: int  # wrong passwords in a row
    last: float  # when the last one was


@dataclass(frozen=True)
class LoginWait:
    """Why a login must wait, and how long: for a name or for a client address."""

    seconds: float
    by: Literal["user", "address"]
    failures: int


class LoginThrottle:
    """Slows password guessing down without locking anyone out.

    Wrong passwords are counted per username (without case) and per client address.
    After ``per_user`` failures in a row for a name (or ``per_address`` from one
    address) each further attempt must wait ``delay`` seconds after the last failure,
    doubling with every failure up to ``max_delay``. An attempt inside the wait is
    refused unchecked (not counted); once the wait is over, the right password logs in
    as always. A success clears the name's count; an address's count (and a name's)
    starts over after ``window`` seconds without a failure. The counts live in this
    process (each replica counts its own).
    """

    def __init__(
        self,
        per_user: int,
        per_address: int,
        window: float,
        *,
        delay: float = 1.0,
        max_delay: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window, self._clock = window, clock
        self._delay, self._max_delay = delay, max_delay
        self._failures: dict[tuple[str, str], _Failures] = {}

    @classmethod
    def from_settings(
        cls, settings: AuthSection, *, clock: Callable[[], float] = time.monotonic
    ) -> LoginThrottle:
        return cls(
            settings.login_failures,
            settings.login_failures_per_address,
            settings.login_window_s,
            delay=settings.login_delay_s,
            max_delay=settings.login_max_delay_s,
            clock=clock,
        )

    def _keys(self, username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", username.lower()), ("address", address)

    def _current(self, key: tuple[str, str]) -> _Failures | None:
        failures = self._failures.get(key)
        if failures is not None and self._clock() - failures.last >= self._window:
            del self._failures[key]
            return None
        return failures

    def delay_after(self, failures: int, limit: int) -> float:
        """Seconds the attempt after ``failures`` wrong passwords in a row waits."""
        if failures < limit:
            return 0.0
        return float(min(self._delay * 2 ** min(failures - limit, 32), self._max_delay))

    def retry_after(self, username: str, address: str) -> LoginWait | None:
        """How long a login for ``username`` from ``address`` must still wait; None if
        it may be tried now."""
        now = self._clock()
        longest: LoginWait | None = None
        for key in self._keys(username, address):
            failures = self._current(key)
            if failures is None:
                continue
            by: Literal["user", "address"] = "user" if key[0] == "user" else "address"
            wait = failures.last + self.delay_after(failures.count, self._limits[by]) - now
            if wait > 0 and (longest is None or wait > longest.seconds):
                longest = LoginWait(wait, by, failures.count)
        return longest

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        if len(self._failures) > _MAX_TRACKED:  # names made up by a guesser: drop the idle
            for key in list(self._failures):
                self._current(key)
        for key in self._keys(username, address):
            failures = self._current(key)
            if failures is None:
                self._failures[key] = _Failures(1, now)
            else:
                failures.count += 1
                failures.last = now

    def succeeded(self, username: str) -> None:
        self._failures.pop(("user", username.lower()), None)
