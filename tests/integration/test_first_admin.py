"""``aigupiao up``'s credentials step: the first start creates ``admin`` once, never again."""

from __future__ import annotations

import json
from pathlib import Path

from aigupiao.cli import _ensure_credentials
from aigupiao.domain.users import Role
from aigupiao.store import Database, UserRepo


async def test_the_first_start_creates_one_admin_and_later_starts_keep_it(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "credentials.json"
    first = await _ensure_credentials(db, path, "local-1", "paper-1")
    password = first["admin_password"]
    assert len(password) >= 16
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["admin_password"] == password
    async with db.session() as session:
        admin = await UserRepo(session).authenticate("admin", password)
    assert admin is not None and admin["role"] == "admin"

    again = await _ensure_credentials(db, path, "local-1", "paper-1")
    assert again == first  # same key, token and password: nothing new minted
    async with db.session() as session:
        assert [u["username"] for u in await UserRepo(session).list()] == ["admin"]


async def test_no_admin_is_made_when_users_exist(db: Database, tmp_path: Path) -> None:
    async with db.session() as session:
        await UserRepo(session).add("owner", "owner-password", Role.ADMIN)
        await session.commit()
    credentials = await _ensure_credentials(db, tmp_path / "c.json", "local-1", "paper-1")
    assert "admin_password" not in credentials
    async with db.session() as session:
        assert [u["username"] for u in await UserRepo(session).list()] == ["owner"]
