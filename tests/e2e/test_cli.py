"""The ``aigupiao`` command as a user runs it: real subprocesses, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from aigupiao.store import ApiKeyRepo, Database, NodeTokenRepo
from aigupiao.store.secrets import display_prefix

from ..conftest import ROOT, service_missing

CJK = re.compile(r"[\u4e00-\u9fff]")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    env.pop("FORCE_COLOR", None)
    # A wide, colourless terminal so rich neither wraps nor styles the text we check.
    return {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def run(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "aigupiao.cli", *args]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit code 2, a readable message naming ``needles``, no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    assert "错误 (error)" in output, output
    for needle in needles:
        assert needle in output, output
    return output


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1].strip()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'var' / 'cloud.db'}"


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "cloud_config.json"
    path.write_text(
        json.dumps({"database_url": db_url, "agent": {"enabled": False}}), encoding="utf-8"
    )
    return path


async def _verify_key(url: str, key: str) -> str | None:
    db = Database(url)
    try:
        async with db.session() as session:
            found = await ApiKeyRepo(session).verify(key)
            await session.commit()
            return found.name if found else None
    finally:
        await db.dispose()


async def _key_scope(url: str, key: str) -> str | None:
    db = Database(url)
    try:
        async with db.session() as session:
            found = await ApiKeyRepo(session).verify(key)
            await session.commit()
            return found.scope if found else None
    finally:
        await db.dispose()


async def _verify_token(url: str, token: str) -> tuple[str, str, str] | None:
    db = Database(url)
    try:
        async with db.session() as session:
            return await NodeTokenRepo(session).verify(token)
    finally:
        await db.dispose()


def test_db_upgrade_creates_the_database(config: Path, tmp_path: Path) -> None:
    output = ok(run("db", "upgrade", config=config))
    assert "数据库已是最新" in output
    assert (tmp_path / "var" / "cloud.db").is_file()
    # Upgrading an up-to-date database is a no-op, not an error.
    ok(run("db", "upgrade", config=config))


def test_apikey_add_list_revoke(config: Path, db_url: str) -> None:
    key = last_line(ok(run("apikey", "add", "k1", config=config)))
    assert re.fullmatch(r"agp_[A-Za-z0-9_-]{20,}", key), key
    assert asyncio.run(_verify_key(db_url, key)) == "k1"

    again = run("apikey", "add", "k1", config=config)
    refused(again, "名称已存在", "name exists", "k1")
    assert "agp_" not in again.stdout  # no second key was minted

    listing = ok(run("apikey", "list", config=config))
    (row,) = [line for line in listing.splitlines() if line.split()[:1] == ["k1"]]
    assert "active" in row
    assert display_prefix(key) in row
    assert key not in listing and key[:16] not in listing  # never the key itself

    output = ok(run("apikey", "revoke", "k1", config=config))
    assert "已吊销" in output and "k1" in output
    assert asyncio.run(_verify_key(db_url, key)) is None
    (row,) = [
        line
        for line in ok(run("apikey", "list", config=config)).splitlines()
        if line.split()[:1] == ["k1"]
    ]
    assert "revoked" in row
    # Revoking twice, or an unknown name, is an error.
    refused(run("apikey", "revoke", "k1", config=config), "k1")
    refused(run("apikey", "revoke", "nobody", config=config), "nobody")


def test_apikey_scopes(config: Path, db_url: str) -> None:
    made = ok(run("apikey", "add", "ro", "--scope", "read", config=config))
    assert "scope read" in made
    assert asyncio.run(_key_scope(db_url, last_line(made))) == "read"
    admin = last_line(ok(run("apikey", "add", "ops", "--scope", "admin", config=config)))
    assert asyncio.run(_key_scope(db_url, admin)) == "admin"
    default = last_line(ok(run("apikey", "add", "bot", config=config)))
    assert asyncio.run(_key_scope(db_url, default)) == "trade"  # the default
    bad = run("apikey", "add", "x", "--scope", "root", config=config)
    refused(bad, "未知的权限范围", "unknown scope", "root", "read, trade, admin")
    assert "agp_" not in bad.stdout
    listing = ok(run("apikey", "list", config=config))
    scopes = {line.split()[0]: line.split()[2] for line in listing.splitlines() if line.strip()}
    assert scopes == {"ro": "read", "ops": "admin", "bot": "trade"}


def test_node_add_list_revoke(config: Path, db_url: str) -> None:
    token = last_line(ok(run("node", "add", "pc1", "--account", "acct-9", config=config)))
    assert re.fullmatch(r"agn_[A-Za-z0-9_-]{20,}", token), token
    assert asyncio.run(_verify_token(db_url, token)) == ("pc1", "acct-9", "pc1")
    refused(run("node", "add", "pc1", config=config), "名称已存在", "pc1")

    listing = ok(run("node", "list", config=config))
    (row,) = [line for line in listing.splitlines() if line.split()[:1] == ["pc1"]]
    assert row.split()[1] == "acct-9" and "active" in row
    assert display_prefix(token) in row and token not in listing

    output = ok(run("node", "revoke", "pc1", config=config))
    assert "已吊销" in output and "pc1" in output
    assert asyncio.run(_verify_token(db_url, token)) is None
    assert "revoked" in ok(run("node", "list", config=config))
    refused(run("node", "revoke", "ghost", config=config), "ghost", "no active token")


def test_local_with_the_placeholder_example_exits_2() -> None:
    refused(run("local", config=ROOT / "examples" / "local_config.json"), "cloud.token")


def test_local_without_a_token_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "local.json"
    config.write_text(json.dumps({"node": {"data_dir": str(tmp_path / "node")}}))
    refused(run("local", config=config), "cloud.token", "aigupiao node add")


def test_cloud_with_invalid_json_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"server": {"port": 8000,}', encoding="utf-8")
    output = refused(run("cloud", config=bad), "JSON", str(bad))
    assert "invalid JSON" in output


def test_cloud_with_a_non_object_json_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "null.json"
    config.write_text("null", encoding="utf-8")
    refused(run("cloud", config=config), str(config))


@pytest.mark.parametrize(
    "url", ["not a url", "postgresql+asyncpg://u@127.0.0.1:1/none"], ids=["unparsable", "down"]
)
def test_a_bad_database_url_exits_2_without_traceback(tmp_path: Path, url: str) -> None:
    config = tmp_path / "cloud.json"
    config.write_text(json.dumps({"database_url": url}), encoding="utf-8")
    refused(run("apikey", "list", config=config), "database")


def test_unknown_key_and_missing_file_exit_2(tmp_path: Path) -> None:
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"databse_url": "sqlite+aiosqlite:///x.db"}), encoding="utf-8")
    refused(run("db", "upgrade", config=typo), "databse_url")
    refused(run("cloud", config=tmp_path / "missing.json"), "不存在", "missing.json")


def _commands(help_text: str) -> dict[str, str]:
    """``{command: description}`` from the rich "Commands" panel of a --help page."""
    panel = help_text.split("Commands", 1)[1]
    rows = [line.strip("│╰╯─ ") for line in panel.splitlines()]
    commands: dict[str, str] = {}
    for row in rows:
        if row and row[0].isascii():
            name, _, description = row.partition(" ")
            commands[name] = description.strip()
    return commands


def chinese_first(description: str) -> bool:
    """The first word is Chinese (an acronym such as "API" may come before it)."""
    return bool(CJK.match(description.removeprefix("API").strip()))


def test_help_is_chinese_first() -> None:
    output = ok(run("--help"))
    description = output.split("Usage:", 1)[1].splitlines()[2].strip()
    assert description.startswith("aigupiao：A股自动交易"), output
    commands = _commands(output)
    expected = {
        "up", "cloud", "local", "db", "apikey", "node", "bench",
        "calendar", "symbols", "reconcile", "export", "broker", "data", "halt", "resume", "feed",
        "user", "openapi", "backtest",
    }  # fmt: skip
    assert set(commands) == expected, output
    for name, description in commands.items():
        assert chinese_first(description), (name, description)
    assert commands["up"].startswith("一键启动")
    # With no arguments the help is shown too (no_args_is_help).
    assert "A股自动交易" in run().stdout


@pytest.mark.parametrize("group", ["apikey", "node"])
def test_every_subcommand_has_chinese_help(group: str) -> None:
    commands = _commands(ok(run(group, "--help")))
    assert set(commands) == {"add", "list", "revoke"}
    for name, description in commands.items():
        assert chinese_first(description), (group, name, description)


PG_ADMIN_URL = os.environ.get(
    "AIGUPIAO_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def _pg(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_db_upgrade_never_prints_the_database_password(tmp_path: Path) -> None:
    name = f"aigupiao_cli_{os.urandom(6).hex()}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    except (OSError, ConnectionError) as exc:
        service_missing(f"PostgreSQL at {PG_ADMIN_URL} ({exc!r})")
    try:
        # The test server trusts local connections, so any password is accepted.
        url = make_url(PG_ADMIN_URL).set(password="hunter2-secret", database=name)
        config = tmp_path / "cloud.json"
        config.write_text(
            json.dumps({"database_url": url.render_as_string(hide_password=False)}),
            encoding="utf-8",
        )
        output = ok(run("db", "upgrade", config=config))
        assert "数据库已是最新" in output
        assert "hunter2-secret" not in output, output
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
