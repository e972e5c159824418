"""Files under ``var/`` are the owner's alone: the cloud's database, the node's journal, the
paper account and the client-order stores, with their SQLite ``-wal`` and ``-shm`` files,
created 0600 in folders created 0700 (whatever the umask), and old 0644 files narrowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aigupiao.brokers.client_orders import ClientOrderStore
from aigupiao.brokers.paper.store import PaperStore
from aigupiao.core.files import private_dir, private_file
from aigupiao.local.journal import Journal
from aigupiao.store import ApiKeyRepo, Database


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems run services with: it alone would make files 0644."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private_sqlite(path: Path) -> None:
    assert mode(path) == 0o600, path
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        assert companion.exists(), f"{companion} missing: is the database in WAL mode?"
        assert mode(companion) == 0o600, companion


async def test_the_cloud_database_is_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    path = home / "var" / "aigupiao.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.upgrade()
        async with db.session() as session:
            await ApiKeyRepo(session).add("k")
            await session.commit()
            assert_private_sqlite(path)  # while it is open, with its -wal and -shm
    finally:
        await db.dispose()
    assert mode(home / "var") == 0o700
    assert mode(home) == 0o755  # a folder that was there is left as it was


async def test_the_node_files_are_owner_only(tmp_path: Path) -> None:
    node = tmp_path / "var" / "node"
    journal = Journal(node / "journal.db")
    paper = PaperStore(node / "paper.db")
    orders = ClientOrderStore(node / "ths_orders.db")
    try:
        await journal.add_event("account", {"cash": "1"})
        assert_private_sqlite(node / "journal.db")
        assert_private_sqlite(node / "paper.db")
        assert_private_sqlite(node / "ths_orders.db")
    finally:
        journal.close()
        paper.close()
        orders.close()
    assert mode(node) == 0o700 and mode(tmp_path / "var") == 0o700


def test_files_from_before_are_narrowed(tmp_path: Path) -> None:
    old = tmp_path / "journal.db"
    old.write_bytes(b"")
    os.chmod(old, 0o644)
    Journal(old).close()
    assert mode(old) == 0o600
    assert mode(private_file(tmp_path / "new" / "deep" / "secret")) == 0o600
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "deep") == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    assert private_dir(shared) == shared and mode(shared) == 0o755
