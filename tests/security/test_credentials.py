"""``aigupiao up``'s credentials: a trade-scoped key, written 0600, and printed only where a
person watches (a terminal), never into a service's log."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import aigupiao.cli as cli
from aigupiao.store import ApiKeyRepo, Database


async def _ensure(tmp_path: Path) -> tuple[dict[str, str], Path]:
    path = tmp_path / "var" / "credentials.json"
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'aigupiao.db'}")
    try:
        credentials = await cli._ensure_credentials(db, path, "local-1", "paper-1")
        async with db.session() as session:
            found = await ApiKeyRepo(session).verify(credentials["api_key"])
            await session.commit()
        assert found is not None and found.scope == "trade"
    finally:
        await db.dispose()
    return credentials, path


async def test_a_log_gets_where_the_secrets_are_not_the_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: False)
    credentials, path = await _ensure(tmp_path)
    output = capsys.readouterr().out
    for name in ("api_key", "node_token", "admin_password"):
        assert credentials[name] not in output, name
    assert str(path) in output and "0600" in output
    assert json.loads(path.read_text()) == credentials
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_a_terminal_is_shown_them_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    credentials, _ = await _ensure(tmp_path)
    output = capsys.readouterr().out
    for name in ("api_key", "node_token", "admin_password"):
        assert output.count(credentials[name]) == 1, name
    again, _ = await _ensure(tmp_path)  # the next start reuses them and prints nothing
    assert again == credentials and capsys.readouterr().out == ""


async def test_a_saved_key_of_another_scope_is_replaced_by_a_trade_key(tmp_path: Path) -> None:
    credentials, path = await _ensure(tmp_path)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'aigupiao.db'}")
    try:
        async with db.session() as session:
            admin_key = await ApiKeyRepo(session).add("mine", "admin")
            await session.commit()
    finally:
        await db.dispose()
    path.write_text(json.dumps({**credentials, "api_key": admin_key}))
    replaced, _ = await _ensure(tmp_path)  # asserts the scope is trade
    assert replaced["api_key"] not in (admin_key, credentials["api_key"])
