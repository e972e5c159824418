"""People (``users``) and their login sessions (``user_sessions``).

Passwords are hashed with argon2id (:mod:`aigupiao.store.passwords`) in a worker
thread, since one hash takes tens of milliseconds of CPU. Session tokens are random
secrets like API keys: only their SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from aigupiao.domain.users import Role, check_username

from ..errors import DuplicateName
from ..models import UserRow, UserSessionRow
from ..passwords import burn_time, hash_password, needs_rehash, verify_password
from ..secrets import hash_secret, new_secret
from ._base import Repository, table

SESSION_PREFIX = "ags_"

_users = table(UserRow)
_sessions = table(UserSessionRow)


class UserRepo(Repository):
    async def add(self, username: str, password: str, role: Role) -> None:
        """Create a user.

        Raises:
            DuplicateName: the username is taken.
            InvalidUsername: the name is not 1-64 letters, digits, ``_ . -``.
        """
        check_username(username)
        encoded = await asyncio.to_thread(hash_password, password)
        inserted = await self._execute_count(
            self._insert(_users)
            .values(
                username=username,
                password_hash=encoded,
                role=Role(role).value,
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=["username"])
        )
        if inserted == 0:
            raise DuplicateName("user", username)

    async def get(self, username: str) -> dict[str, Any] | None:
        """``{"username", "role", "created_at"}`` or None; never the hash."""
        c = _users.c
        return await self._one(
            select(c.username, c.role, c.created_at).where(c.username == username)
        )

    async def list(self) -> list[dict[str, Any]]:
        """Every user, oldest first; never the hash."""
        c = _users.c
        return await self._all(select(c.username, c.role, c.created_at).order_by(c.id))

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(_users)) or 0)

    async def admins(self) -> Sequence[str]:
        """The admins' names, rows locked until the transaction ends (PostgreSQL), so that
        two concurrent removals cannot both see "another admin is left"."""
        c = _users.c
        statement = select(c.username).where(c.role == Role.ADMIN.value).with_for_update()
        return list((await self._session.scalars(statement)).all())

    async def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        """``{"username", "role", "created_at"}`` if the password is right, else None.

        A wrong username costs as much time as a wrong password. A hash made with older
        parameters is replaced (the caller commits).
        """
        c = _users.c
        row = await self._one(
            select(c.username, c.role, c.created_at, c.password_hash).where(c.username == username)
        )
        if row is None:
            await asyncio.to_thread(burn_time)
            return None
        encoded = row.pop("password_hash")
        if not await asyncio.to_thread(verify_password, encoded, password):
            return None
        if needs_rehash(encoded):
            await self.set_password(username, password)
        return row

    async def set_role(self, username: str, role: Role) -> bool:
        """False if there is no such user."""
        changed = await self._execute_count(
            update(_users).where(_users.c.username == username).values(role=Role(role).value)
        )
        return changed > 0

    async def set_password(self, username: str, password: str) -> bool:
        """False if there is no such user. Does not end the user's sessions (the caller
        decides, with :meth:`UserSessionRepo.end_all`)."""
        encoded = await asyncio.to_thread(hash_password, password)
        changed = await self._execute_count(
            update(_users).where(_users.c.username == username).values(password_hash=encoded)
        )
        return changed > 0

    async def remove(self, username: str) -> bool:
        """Delete the user and every session of theirs; False if there is no such user."""
        await UserSessionRepo(self._session, clock=self._clock).end_all(username)
        removed = await self._execute_count(delete(_users).where(_users.c.username == username))
        return removed > 0


class UserSessionRepo(Repository):
    async def create(self, username: str, lifetime: timedelta) -> tuple[str, datetime]:
        """A new session for ``username``: ``(token, expires_at)``; the token is not stored."""
        token = new_secret(SESSION_PREFIX)
        now = self._now().astimezone(UTC)  # as the database gives it back
        expires_at = now + lifetime
        await self._session.execute(
            _sessions.insert().values(
                token_hash=hash_secret(token),
                username=username,
                created_at=now,
                expires_at=expires_at,
                last_seen_at=now,
            )
        )
        return token, expires_at

    async def resolve(
        self, token: str, *, touch_after: timedelta = timedelta(minutes=1)
    ) -> dict[str, Any] | None:
        """``{"username", "role", "expires_at", "created_at"}`` of a live session, or None.

        ``last_seen_at`` is written only when it is older than ``touch_after``, so that a
        busy dashboard does not turn every read into a write.
        """
        s, u = _sessions.c, _users.c
        now = self._now()
        digest = hash_secret(token)
        row = await self._one(
            select(u.username, u.role, s.expires_at, s.created_at, s.last_seen_at)
            .join(_users, u.username == s.username)
            .where(s.token_hash == digest, s.expires_at > now)
        )
        if row is None:
            return None
        if now - row.pop("last_seen_at") >= touch_after:
            await self._session.execute(
                update(_sessions).where(s.token_hash == digest).values(last_seen_at=now)
            )
        return row

    async def end(self, token: str) -> bool:
        """End one session; False if it did not exist."""
        ended = await self._execute_count(
            delete(_sessions).where(_sessions.c.token_hash == hash_secret(token))
        )
        return ended > 0

    async def end_all(self, username: str, *, keep: str | None = None) -> int:
        """End every session of ``username`` but the one of token ``keep``; how many ended."""
        s = _sessions.c
        statement = delete(_sessions).where(s.username == username)
        if keep is not None:
            statement = statement.where(s.token_hash != hash_secret(keep))
        return await self._execute_count(statement)

    async def purge_expired(self) -> int:
        """Delete sessions past their expiry; how many."""
        return await self._execute_count(
            delete(_sessions).where(_sessions.c.expires_at <= self._now())
        )

    async def list(self, username: str | None = None) -> list[dict[str, Any]]:
        """Live and expired sessions, newest first; never the token or its hash."""
        s = _sessions.c
        statement = select(s.username, s.created_at, s.expires_at, s.last_seen_at)
        if username is not None:
            statement = statement.where(s.username == username)
        return await self._all(statement.order_by(s.id.desc()))
