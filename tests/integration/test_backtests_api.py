"""Backtests over HTTP on a real cloud (127.0.0.1): submit, progress, a done run with its
metrics and report, cancel, bad input refused with the reason, data paths kept inside the
data folders, and runs a dead process left marked interrupted at the next start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from aigupiao.backtest.engine import PARITY_PARAMS
from aigupiao.market.daily import read_daily
from aigupiao.store import BacktestRepo, BarRepo, Database

from ..conftest import SHARED, eventually, service_missing
from .stack import running_stack

API = "/api/backtests"
DAILY = "daily/hzjsw_stock-backtest/data"
ONE_FILE = f"{DAILY}/600000.csv"
FULL_MARKET = "daily/zz090923610_stock/data"
# A run long enough to be caught running: about 2,980 stocks, several strategies. Its
# progress is written every 50 ms, so it is seen running from its first simulated days.
LONG_RUN = {
    "strategies": [
        {"name": name} for name in ("ma_cross", "momentum", "breakout", "rsi_reversion")
    ],
    "data": [FULL_MARKET],
}
FAST_PROGRESS = {"progress_interval": 0.05}
# backtrader's cross (fast 10, slow 30) without the entry filters, so it trades on one file
MA_CROSS = {"name": "ma_cross", "params": PARITY_PARAMS}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The shared data folder, seen through a folder of its own that also holds a link
    pointing outside it (which must not be followed)."""
    if not (SHARED / "data" / ONE_FILE).is_file():
        service_missing("../shared/data")
    root = tmp_path / "data"
    root.mkdir()
    for name in ("daily",):
        (root / name).symlink_to(SHARED / "data" / name)
    secret = tmp_path / "secret.csv"
    secret.write_text("date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n")
    os.symlink(secret, root / "escape.csv")
    return root


def _settings(data_dir: Path, **backtest: Any) -> dict[str, Any]:
    # The links inside ``root`` resolve into ../shared: allow that folder too, but not tmp.
    return {"backtest": {"data_dirs": [str(data_dir), str(SHARED / "data")], **backtest}}


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _refused(client: httpx.AsyncClient, body: dict[str, Any], code: str) -> str:
    response = await client.post(API, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code, detail
    assert detail["message"] and detail["message_en"]
    return f"{detail['message']} | {detail['message_en']}"


async def _final(client: httpx.AsyncClient, run_id: str, timeout: float = 120) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        run = await _ok(await client.get(f"{API}/{run_id}"))
        return run if run["status"] in ("done", "failed", "cancelled") else None

    return await eventually(ended, timeout=timeout, interval=0.2)


async def test_a_run_is_queued_runs_and_keeps_its_report(
    tmp_path: Path, data_dir: Path, empty_url: str
) -> None:
    # on SQLite and PostgreSQL (empty_url is parametrized by the integration conftest)
    async with (
        running_stack(tmp_path, db_url=empty_url, with_node=False, **_settings(data_dir)) as stack,
        stack.client() as client,
    ):
        options = await _ok(await client.get(f"{API}/options"))
        names = {item["name"] for item in options["strategies"]}
        assert "ma_cross" in names and "llm" not in names
        body = {
            "strategies": [MA_CROSS],
            "data": [ONE_FILE],
            "cash": "100000",
            "size": 100,
            "benchmark": "buy_and_hold",
        }
        queued = await _ok(await client.post(API, json=body), 202)
        assert queued["status"] == "queued" and queued["id"].startswith("bt_")
        assert queued["created_by"] == "apikey:test" and queued["params"]["data"] == [ONE_FILE]
        run = await _final(client, queued["id"])
        assert run["status"] == "done", run
        assert run["error"] is None and run["finished_at"] >= run["started_at"]
        assert run["progress_total"] > 0 and run["progress_done"] == run["progress_total"]
        metrics = run["result"]["metrics"]
        assert {"sharpe", "max_drawdown", "total_return"} <= set(metrics)
        assert metrics["benchmark"]["name"] == "buy_and_hold" and run["result"]["benchmark"]
        assert metrics["initial_cash"] == "100000.00"
        assert "config" not in run["result"]  # the server's paths stay on the server
        trades = run["result"]["trades"]
        assert trades and {t["code"] for t in trades} == {"sh600000"}
        assert all(t["quantity"] == 100 for t in trades) and metrics["trades"] == len(trades)
        assert run["result"]["prices"]["sh600000"]  # the closes the trades are drawn on
        report = await client.get(f"{API}/{queued['id']}/report.html")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        assert "<html" in report.text.lower()
        listing = await _ok(await client.get(API, params={"limit": 5}))
        assert listing["total"] == 1 and listing["items"][0]["id"] == queued["id"]
        assert "result" not in listing["items"][0]
        # ended runs are answered as they are
        again = await _ok(await client.post(f"{API}/{queued['id']}/cancel"))
        assert again["status"] == "done"


async def test_the_database_bars_give_the_same_run_as_the_file(
    tmp_path: Path, data_dir: Path
) -> None:
    async with (
        running_stack(tmp_path, with_node=False, **_settings(data_dir)) as stack,
        stack.client() as client,
    ):
        bars = read_daily(SHARED / "data" / ONE_FILE).bars
        async with stack.cloud.db.session() as session:
            await BarRepo(session).upsert_many(bars)
            await session.commit()
        code = bars[0].symbol.full
        common = {"strategies": [MA_CROSS], "codes": [code], "start": "2022-03-01"}
        from_file = await _ok(await client.post(API, json={**common, "data": [ONE_FILE]}), 202)
        from_db = await _ok(await client.post(API, json={**common, "database_bars": True}), 202)
        file_run, db_run = (
            await _final(client, from_file["id"]),
            await _final(client, from_db["id"]),
        )
        assert (file_run["status"], db_run["status"]) == ("done", "done"), db_run
        # the same bars: the same days, trades and equity
        assert db_run["result"]["bars"] == file_run["result"]["bars"] > 100
        assert len(file_run["result"]["trades"]) > 4
        assert db_run["result"]["equity"] == file_run["result"]["equity"]
        assert db_run["result"]["trades"] == file_run["result"]["trades"]
        assert db_run["result"]["final_equity"] == file_run["result"]["final_equity"]
        prices = db_run["result"]["prices"]
        assert list(prices) == [code] and prices[code][0]["date"] >= "2022-03-01"
        missing = {**common, "codes": ["sz000002"], "database_bars": True}
        failed = await _final(client, (await _ok(await client.post(API, json=missing), 202))["id"])
        assert failed["status"] == "failed" and failed["result"] is None
        assert failed["error"]["code"] == "backtest_input"
        assert "sz000002" in failed["error"]["message_en"]


async def test_a_running_run_is_cancelled_with_its_reason(tmp_path: Path, data_dir: Path) -> None:
    async with (
        running_stack(
            tmp_path, with_node=False, **_settings(data_dir, max_queued=2, **FAST_PROGRESS)
        ) as stack,
        stack.client() as client,
    ):
        body = LONG_RUN
        first = await _ok(await client.post(API, json=body), 202)
        second = await _ok(await client.post(API, json=body), 202)  # waits: one at a time
        third = await client.post(API, json=body)
        assert third.status_code == 429 and third.json()["detail"]["code"] == "too_many_backtests"

        async def progressing() -> dict[str, Any] | None:
            run = await _ok(await client.get(f"{API}/{first['id']}"))
            return run if run["status"] == "running" and run["progress_done"] > 0 else None

        running = await eventually(progressing, timeout=60, interval=0.02)
        assert 0 < running["progress_done"] <= running["progress_total"]
        waiting = await _ok(await client.post(f"{API}/{second['id']}/cancel"))
        assert waiting["status"] == "cancelled" and waiting["error"]["code"] == "cancelled"
        await _ok(await client.post(f"{API}/{first['id']}/cancel"))
        cancelled = await _final(client, first["id"])
        assert cancelled["status"] == "cancelled", cancelled
        assert cancelled["result"] is None and "apikey:test" in cancelled["error"]["message_en"]
        missing = await client.get(f"{API}/{first['id']}/report.html")
        assert missing.status_code == 409 and missing.json()["detail"]["code"] == "no_report"
        # the second never started
        assert (await _ok(await client.get(f"{API}/{second['id']}")))["started_at"] is None


async def test_bad_input_is_422_naming_what_is_wrong(tmp_path: Path, data_dir: Path) -> None:
    async with (
        running_stack(tmp_path, with_node=False, **_settings(data_dir)) as stack,
        stack.client() as client,
    ):
        good: dict[str, Any] = {"strategies": [MA_CROSS], "data": [ONE_FILE]}
        text = await _refused(
            client, {**good, "strategies": [{"name": "nope"}]}, "unknown_strategy"
        )
        assert "nope" in text and "ma_cross" in text
        await _refused(client, {**good, "strategies": [{"name": "llm"}]}, "unknown_strategy")
        bad_type = [{"name": "ma_cross", "params": {"fast": "ten"}}]
        text = await _refused(client, {**good, "strategies": bad_type}, "invalid_params")
        assert "fast" in text
        unknown_param = [{"name": "ma_cross", "params": {"fastest": 3}}]
        assert "fastest" in await _refused(
            client, {**good, "strategies": unknown_param}, "invalid_params"
        )
        dates = {**good, "start": "2024-03-01", "end": "2024-01-01"}
        assert "empty date range" in await _refused(client, dates, "invalid_config")
        no_data = {"strategies": [MA_CROSS]}
        await _refused(client, no_data, "invalid_config")
        for outside in ("../secret.csv", "/etc/passwd", "escape.csv", "daily/../../secret.csv"):
            text = await _refused(client, {**good, "data": [outside]}, "data_outside")
            assert outside in text
        await _refused(client, {**good, "data": ["."]}, "data_outside")  # a whole data folder
        await _refused(client, {**good, "data": [f"{DAILY}/none.csv"]}, "data_not_found")
        await _refused(client, {**good, "codes": ["12345x"]}, "invalid_code")
        schema = await client.post(API, json={**good, "cash": "-1"})
        assert schema.status_code == 422 and "cash" in schema.json()["detail"]["message_en"]
        assert (await _ok(await client.get(API)))["total"] == 0  # nothing was stored
        unknown = await client.get(f"{API}/bt_{'0' * 20}")
        assert unknown.status_code == 404
        # not a run id: another route's path, never a run's
        assert (await client.get(f"{API}/replay")).status_code in (404, 405, 422)
        viewer = await stack.add_api_key("viewer", "read")
        async with stack.client(viewer) as reader:
            assert (await reader.post(API, json=good)).status_code == 403
            assert (await reader.get(API)).status_code == 200


async def test_the_data_folders_are_browsed_and_nothing_else(
    tmp_path: Path, data_dir: Path
) -> None:
    (data_dir / ".hidden").write_text("x")
    async with (
        running_stack(tmp_path, with_node=False, **_settings(data_dir)) as stack,
        stack.client() as client,
    ):
        top = await _ok(await client.get(f"{API}/data"))
        names = {entry["name"]: entry for entry in top["entries"]}
        assert names["daily"] == {"name": "daily", "path": "daily", "kind": "dir"}
        assert "escape.csv" not in names and ".hidden" not in names  # a link out, hidden
        folder = await _ok(await client.get(f"{API}/data", params={"path": DAILY}))
        assert folder["path"] == DAILY and not folder["truncated"]
        entry = next(e for e in folder["entries"] if e["name"] == "600000.csv")
        assert entry == {"name": "600000.csv", "path": ONE_FILE, "kind": "file"}
        market = await _ok(await client.get(f"{API}/data", params={"path": FULL_MARKET}))
        assert market["truncated"] and len(market["entries"]) == 500
        for path, code in (
            ("..", "data_outside"),
            ("daily/../../secret.csv", "data_outside"),
            (ONE_FILE, "not_a_folder"),
            ("daily/none", "data_not_found"),
        ):
            answer = await client.get(f"{API}/data", params={"path": path})
            assert answer.status_code == 422 and answer.json()["detail"]["code"] == code, path


async def test_runs_left_by_a_dead_process_are_marked_interrupted(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    async with Database(url) as db:
        await db.upgrade()
        async with db.session() as session:
            repo = BacktestRepo(session)
            await repo.add(f"bt_{'1' * 20}", {"strategies": []}, "user:tom")
            await repo.add(f"bt_{'2' * 20}", {"strategies": []}, "user:tom")
            await repo.start(f"bt_{'2' * 20}")
            await session.commit()
    async with running_stack(tmp_path, db_url=url, with_node=False) as stack:
        async with stack.client() as client:
            listing = await _ok(await client.get(API))
    states = {item["id"]: item for item in listing["items"]}
    assert {item["status"] for item in states.values()} == {"failed"}
    for item in states.values():
        assert item["error"]["code"] == "interrupted"
        assert "中断" in item["error"]["message"] and "restart" in item["error"]["message_en"]


async def test_a_run_cut_short_by_a_stop_ends_interrupted(tmp_path: Path, data_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    async with (
        running_stack(
            tmp_path, db_url=url, with_node=False, **_settings(data_dir, **FAST_PROGRESS)
        ) as stack,
        stack.client() as client,
    ):
        body = LONG_RUN
        run_id = (await _ok(await client.post(API, json=body), 202))["id"]

        async def running() -> bool:
            run = await _ok(await client.get(f"{API}/{run_id}"))
            return bool(run["status"] == "running" and run["progress_done"] > 0)

        await eventually(running, timeout=60, interval=0.02)
        worker = stack.cloud.tasks
    # the cloud has stopped: the engine was told to cancel and the run ended with the reason
    assert worker.details()["backtest-0"]["last_error"] is None
    async with Database(url) as db, db.session() as session:
        record = await BacktestRepo(session).get(run_id)
    assert record is not None and record.status == "failed" and record.result is None
    assert record.error is not None and record.error["code"] == "interrupted"
