"""The equity history and today's P&L over real HTTP, with a real node on the paper broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.users import Role
from aigupiao.store import AccountRepo, Database, UserRepo
from aigupiao.store.repositories.trading import AccountSnapshotRepo

from ..conftest import eventually
from .stack import SIM_DAY, Stack, running_stack

EXECUTE = "/api/cloud-local-trading/execute-trade"
EQUITY = "/api/accounts/paper-1/equity"
PAPER_CASH = Decimal(1_000_000)
# The trading day before SIM_DAY (a Tuesday), at the close.
YESTERDAY_CLOSE = datetime(2026, 11, 23, 15, 0, tzinfo=BEIJING)


def buy(code: str) -> dict[str, Any]:
    return {"action": "buy", "stock_code": code, "quantity": 100, "price": None, "agent_id": "t"}


async def account(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/accounts")
    assert response.status_code == 200, response.text
    (paper,) = [row for row in response.json() if row["id"] == "paper-1"]
    return dict(paper)


async def history(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get(EQUITY, params=params)
    assert response.status_code == 200, response.text
    points: list[dict[str, Any]] = response.json()
    return points


async def viewer_client(stack: Stack) -> httpx.AsyncClient:
    async with stack.cloud.db.session() as session:
        await UserRepo(session).add("vera", "vera-password", Role.VIEWER)
        await session.commit()
    client = httpx.AsyncClient(base_url=stack.cloud_url, timeout=30)
    login = {"username": "vera", "password": "vera-password"}
    assert (await client.post("/api/auth/login", json=login)).status_code == 200
    return client


async def test_fills_make_a_throttled_history_and_pnl_today(tmp_path: Path) -> None:
    # One row per hour: the connect-time snapshot is the day's first (kept as is), every
    # later snapshot of the hour overwrites one second row.
    async with (
        running_stack(tmp_path, accounts={"equity_interval": 3600}) as stack,
        stack.client() as client,
    ):
        first = await eventually(lambda: history(client), timeout=15)
        assert len(first) == 1 and Decimal(first[0]["equity"]) == PAPER_CASH
        assert set(first[0]) == {"ts", "equity", "cash"}
        assert datetime.fromisoformat(first[0]["ts"]).astimezone(BEIJING).date() == SIM_DAY

        async def settled(below: Decimal) -> list[dict[str, Any]] | None:
            """The history once it holds the snapshot after a fill (cash below ``below``)."""
            points = await history(client)
            latest = await account(client)
            stored = Decimal(latest["cash"]) < below and points[-1]["equity"] == latest["equity"]
            return points if stored else None

        # Each fill's snapshot is written on its own (not coalesced with the next one).
        for code in ("000001", "601318", "600036"):
            cash = Decimal((await account(client))["cash"])
            answer = await client.post(EXECUTE, json=buy(code))
            assert answer.json()["status"] == "done", answer.text
            points = await eventually(lambda cash=cash: settled(cash), timeout=15)
        assert len((await client.get("/api/trades")).json()) == 3
        assert len(points) == 2  # three fills and their snapshots: one row for the hour
        assert points[0] == first[0]
        assert [p["ts"] for p in points] == sorted(p["ts"] for p in points)

        paper = await account(client)
        assert paper["day_start_equity"] == first[0]["equity"]
        pnl = Decimal(paper["pnl_today"])
        assert pnl == Decimal(paper["equity"]) - PAPER_CASH
        # Money reads as decimal strings, like every other money field.
        assert isinstance(paper["pnl_today"], str) and isinstance(points[1]["cash"], str)
        assert points[1]["cash"] == paper["cash"]


async def seed(url: str, rows: list[tuple[datetime, str]]) -> None:
    """History rows for paper-1 written before the cloud starts (a previous process)."""
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as session:
            repo = AccountSnapshotRepo(session)
            for ts, equity in rows:
                value = Decimal(equity)
                await repo.add(
                    "paper-1",
                    ts,
                    {
                        "equity": value,
                        "cash": value,
                        "frozen_cash": Decimal(0),
                        "market_value": Decimal(0),
                    },
                )
            await session.commit()
    finally:
        await db.dispose()


async def test_pnl_today_starts_at_yesterdays_close_and_old_rows_expire(
    tmp_path: Path, empty_url: str
) -> None:
    expired = YESTERDAY_CLOSE - timedelta(days=500)
    await seed(empty_url, [(expired, "800000"), (YESTERDAY_CLOSE, "990000.50")])
    async with running_stack(tmp_path, db_url=empty_url) as stack, stack.client() as client:
        # The retention task ran at start: the 500-day-old row is gone, yesterday's stays.
        await eventually(lambda: stack.cloud.results.equity.deleted == 1, timeout=15)
        everything = await history(client)
        assert everything[0]["equity"] == everything[0]["cash"] == "990000.50"
        assert datetime.fromisoformat(everything[0]["ts"]) == YESTERDAY_CLOSE
        assert all(datetime.fromisoformat(p["ts"]) > expired for p in everything)

        answer = await client.post(EXECUTE, json=buy("000001"))
        assert answer.json()["status"] == "done", answer.text

        async def traded() -> dict[str, Any] | None:
            paper = await account(client)
            return paper if Decimal(paper["cash"]) < PAPER_CASH else None

        paper = await eventually(traded, timeout=15)
        assert paper["day_start_equity"] == "990000.50"
        assert datetime.fromisoformat(paper["day_start_at"]) == YESTERDAY_CLOSE
        assert Decimal(paper["pnl_today"]) == Decimal(paper["equity"]) - Decimal("990000.50")

        # Today only (naive times are Beijing time), and a viewer may read it all.
        viewer = await viewer_client(stack)
        try:
            today = await viewer.get(EQUITY, params={"start": f"{SIM_DAY}T00:00:00"})
            assert today.status_code == 200, today.text
            points = today.json()
            assert points and all(
                datetime.fromisoformat(p["ts"]).astimezone(BEIJING).date() == SIM_DAY
                for p in points
            )
            assert points == (await history(client))[1:]
            listed = await viewer.get("/api/accounts")
            assert listed.status_code == 200
            assert listed.json()[0]["day_start_equity"] == "990000.50"
        finally:
            await viewer.aclose()


async def test_equity_errors_and_empty_accounts(tmp_path: Path) -> None:
    async with running_stack(tmp_path, with_node=False) as stack, stack.client() as client:
        assert (await client.get("/api/accounts")).json() == []
        # An account stored before there was a history (an older version): P&L unknown.
        async with stack.cloud.db.session() as session:
            await AccountRepo(session).upsert(
                "old-1",
                node_id=None,
                paper=True,
                cash=Decimal(5),
                frozen_cash=Decimal(0),
                equity=Decimal(5),
            )
            await session.commit()
        (old,) = (await client.get("/api/accounts")).json()
        assert old["equity"] == "5.00"
        assert old["pnl_today"] is None and old["day_start_equity"] is None
        assert old["day_start_at"] is None
        assert (await client.get("/api/accounts/old-1/equity")).json() == []
        missing = await client.get("/api/accounts/nobody/equity")
        assert missing.status_code == 404
        detail = missing.json()["detail"]
        assert detail["code"] == "not_found" and "nobody" in detail["message"]
        assert detail["message_en"] == "no account nobody"
        backwards = await client.get(
            "/api/accounts/nobody/equity",
            params={"start": "2026-11-24T10:00:00", "end": "2026-11-24T09:00:00"},
        )
        assert backwards.status_code == 422
        assert backwards.json()["detail"]["code"] == "invalid_range"
        too_many = await client.get(EQUITY, params={"limit": 0})
        assert too_many.status_code == 422
        async with httpx.AsyncClient(base_url=stack.cloud_url) as anonymous:
            assert (await anonymous.get(EQUITY)).status_code == 401


async def test_the_curve_is_marked_to_market_between_reports(tmp_path: Path) -> None:
    """Between the node's reports (fills, status answers) the cloud values the positions
    at its own latest quotes, every ``equity_interval``, while the market is open."""
    async with (
        running_stack(tmp_path, accounts={"equity_interval": 1}) as stack,
        stack.client() as client,
    ):
        answer = await client.post(EXECUTE, json=buy("600036"))
        assert answer.json()["status"] == "done", answer.text
        await eventually(lambda: stack.cloud.ledger.get("paper-1") is not None, timeout=15)

        async def held() -> Any:
            snapshot = stack.cloud.ledger.get("paper-1")
            return snapshot if snapshot is not None and snapshot.positions else None

        snapshot = await eventually(held, timeout=15)
        (position,) = snapshot.positions
        # A price of our choosing for the held stock: the marked equity must use it.
        quote = stack.cloud.market.quote(position.symbol.full)
        assert quote is not None
        price = quote.last + Decimal("1.23")
        marked = await stack.cloud.results.mark_to_market(
            lambda code: replace(quote, last=price) if code == position.symbol.full else None
        )
        assert marked == 1
        points = await history(client)
        expected = snapshot.cash + snapshot.frozen_cash + price * position.total
        assert Decimal(points[-1]["equity"]) == expected

        # And the task does it by itself: rows keep coming, one per second at most.
        count = len(points)
        await eventually(lambda: _grown(client, count + 2), timeout=20)


async def _grown(client: httpx.AsyncClient, at_least: int) -> bool:
    return len(await history(client)) >= at_least
