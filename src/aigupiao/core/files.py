"""Files only their owner may read: the databases, journals and secrets under ``var/``.

They hold account data, orders and credentials, so they are created ``0600`` and the
folders made for them ``0700``, whatever the process umask says. Folders that exist
already (``/tmp``, a home directory) are left as they are; files that exist already are
narrowed to ``0600`` (an install from before this rule).

SQLite makes its ``-wal`` and ``-shm`` files with the mode of the database file, so a
database created through :func:`private_sqlite` keeps them private too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Make ``path`` and any missing parents, each new folder ``0700``; returns ``path``."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir(mode=DIR_MODE)
            os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing (its folder too), and make it ``0600``."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def private_sqlite(path: Path) -> Path:
    """Prepare the SQLite database ``path`` before it is opened: the file ``0600`` (made
    empty if missing, which SQLite takes as a new database), and any ``-wal`` / ``-shm``
    / ``-journal`` left from before narrowed to ``0600``."""
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(companion, FILE_MODE)
    return path
