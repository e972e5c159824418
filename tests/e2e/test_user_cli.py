"""``aigupiao user add|list|passwd|remove`` as a user runs them: real subprocesses, SQLite."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aigupiao.store import AuditRepo, Database, UserRepo

from ..conftest import ROOT
from .test_cli import _env, last_line, ok, refused


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cloud_config.json"
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'cloud.db'}"
    path.write_text(json.dumps({"database_url": url}), encoding="utf-8")
    return path


def user(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aigupiao.cli", "user", *args, "--config", str(config)],
        cwd=ROOT,
        env=_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _check(config: Path, name: str, password: str) -> tuple[str | None, list[str]]:
    """The role ``name`` logs in with using ``password`` (None: refused), and audit actions."""

    async def main() -> tuple[str | None, list[str]]:
        url = json.loads(config.read_text())["database_url"]
        db = Database(url)
        try:
            async with db.session() as session:
                found = await UserRepo(session).authenticate(name, password)
                actions = [e["action"] for e in await AuditRepo(session).list()]
        finally:
            await db.dispose()
        return (found["role"] if found else None), actions

    return asyncio.run(main())


def test_user_add_list_passwd_remove(config: Path) -> None:
    output = ok(user(config, "add", "boss", "--role", "admin"))
    generated = last_line(output)
    assert "只显示一次" in output and len(generated) >= 16
    assert _check(config, "boss", generated)[0] == "admin"

    ok(user(config, "add", "ann", "--role", "trader", "--password-stdin", stdin="ann-secret-1\n"))
    assert _check(config, "ann", "ann-secret-1")[0] == "trader"
    refused(user(config, "add", "ann", "--password-stdin", stdin="whatever-pw\n"), "ann")
    refused(user(config, "add", "two words"), "用户名无效")
    refused(user(config, "add", "shorty", "--password-stdin", stdin="short\n"), "8")
    bad_role = user(config, "add", "x", "--role", "god")
    assert bad_role.returncode == 2 and "viewer" in bad_role.stdout + bad_role.stderr

    listed = ok(user(config, "list"))
    assert "boss" in listed and "admin" in listed and "ann" in listed and "trader" in listed

    ok(user(config, "passwd", "ann", "--password-stdin", stdin="ann-secret-2\n"))
    assert _check(config, "ann", "ann-secret-1")[0] is None
    assert _check(config, "ann", "ann-secret-2")[0] == "trader"
    changed = ok(user(config, "passwd", "ann"))
    assert _check(config, "ann", last_line(changed))[0] == "trader"
    refused(user(config, "passwd", "nobody", "--password-stdin", stdin="long-enough\n"), "nobody")

    refused(user(config, "remove", "boss"), "最后一个管理员")
    ok(user(config, "remove", "ann"))
    refused(user(config, "remove", "ann"), "ann")
    role, actions = _check(config, "ann", "ann-secret-2")
    assert role is None
    assert actions == [
        "user.remove",
        "user.update",
        "user.update",
        "user.create",
        "user.create",
    ]
