"""``aigupiao data import`` as a user runs it: a real subprocess into a real database
(SQLite and PostgreSQL), from the self-made fixtures and from ../shared in place."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from aigupiao.store import BarRepo, Database

from ..conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "daily"


async def _import(url: str | None, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    env.pop("FORCE_COLOR", None)
    env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})
    if url is not None:
        env["AIGUPIAO_DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aigupiao.cli", "data", "import", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def _daily(db: Database, code: str) -> list[dict[str, object]]:
    async with db.session() as session:
        return await BarRepo(session).list(code, "1d", limit=10_000)


async def test_fixture_folder_imports_normalised_and_reimports_idempotently(db: Database) -> None:
    code, output = await _import(db.url, str(FIXTURES))
    # Two files cannot be read at all: exit 1, everything else imported.
    assert code == 1, output
    assert "Traceback" not in output
    assert "导入完成 (imported) 5 个来源" in output and "13 行 (bars)" in output, output
    assert "坏行 (bad rows) 8" in output and "失败 (failed) 2" in output, output
    assert "unknown_layout.csv" in output and "no_code_here.csv" in output
    assert "rows_sz002594.csv:4 open 价格必须为正：0 (open must be positive: 0)" in output, output

    tushare = await _daily(db, "sz000019")
    assert [(r["end"], r["volume"], r["amount"]) for r in tushare] == [
        (datetime(2024, 3, 1, 7, tzinfo=UTC), 1_234_567, Decimal("11158123")),
        (datetime(2024, 3, 4, 7, tzinfo=UTC), 9_999_999, Decimal("98765432.1")),
        (datetime(2024, 3, 5, 7, tzinfo=UTC), 5_000_000, Decimal("48500000")),
    ]
    akshare = await _daily(db, "sh600036")
    assert [r["volume"] for r in akshare] == [45_678_900, 40_000_000]
    assert akshare[1]["amount"] == Decimal("1290000000.5")
    descending = await _daily(db, "sz300750")
    assert [(r["close"], r["low"]) for r in descending][-1] == (Decimal("10.05"), Decimal("10.00"))
    assert len(await _daily(db, "sh600519")) == 3 and len(await _daily(db, "sz002594")) == 2

    before = {c: await _daily(db, c) for c in ("sz000019", "sh600036", "sz300750", "sh600519")}
    code, output = await _import(db.url, str(FIXTURES / "000019.SZ.csv"))
    assert code == 0 and "失败 (failed) 0" in output, output
    code, _ = await _import(db.url, str(FIXTURES))
    assert code == 1
    after = {c: await _daily(db, c) for c in before}
    assert after == before  # upserted, never duplicated


async def test_real_files_in_place(db: Database, shared_dir: Path) -> None:
    daily = shared_dir / "data" / "daily"
    qbot = daily / "UFund-Me_Qbot/docs/tutorials_code/03.macd_in_A_market/stocks/000019.SZ.csv"
    for path in (daily / "hzjsw_stock-backtest/data/consumer_600519.csv", qbot):
        code, output = await _import(db.url, str(path), "--freq", "1d")
        assert code == 0 and "坏行 (bad rows) 0" in output, output
    moutai = {r["end"]: r for r in await _daily(db, "sh600519")}
    assert len(moutai) == 1289
    bar = moutai[datetime(2025, 1, 2, 7, tzinfo=UTC)]
    assert (bar["close"], bar["volume"]) == (Decimal("1488"), 5_002_870)
    limit_up = {r["end"]: r for r in await _daily(db, "sz000019")}[
        datetime(2020, 4, 23, 7, tzinfo=UTC)
    ]
    assert (limit_up["close"], limit_up["volume"]) == (Decimal("10.66"), 9_067_382)
    assert limit_up["amount"] == Decimal("96658292")


async def test_usage_errors_say_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    for args, needle in (
        ((str(tmp_path / "missing.csv"),), "no such file or folder"),
        ((str(FIXTURES), "--freq", "1m"), "only 1d"),
        ((), "give either PATH or --akshare CODES"),
        ((str(FIXTURES), "--akshare", "600519"), "give either PATH or --akshare CODES"),
        (("--akshare", "12345"), "invalid security code"),
    ):
        code, output = await _import(url, *args)
        assert code == 2, output
        assert "错误 (error)" in output and needle in output and "Traceback" not in output, output


async def test_akshare_missing_tells_how_to_install(tmp_path: Path) -> None:
    try:
        import akshare  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - only where akshare happens to be installed
        return
    code, output = await _import(f"sqlite+aiosqlite:///{tmp_path}/cli.db", "--akshare", "600519")
    assert code == 2 and "pip install aigupiao[akshare]" in output, output
