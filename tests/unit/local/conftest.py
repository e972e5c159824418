from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aigupiao.local.executor import Executor
from aigupiao.local.journal import Journal

from .fakes import FakeBroker


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "node" / "journal.db"


@pytest.fixture
def journal(journal_path: Path) -> Iterator[Journal]:
    journal = Journal(journal_path)
    yield journal
    journal.close()


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def executor(broker: FakeBroker, journal: Journal) -> Executor:
    return Executor(broker, journal, broker_timeout=2.0)
