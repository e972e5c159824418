"""Market data over real sockets: the quote API, external pushers (HTTP and WebSocket),
the dashboard stream, 1-minute bars, raw snapshots; on SQLite and PostgreSQL.

The cloud runs without a feed on a manual clock, so every quote comes from a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aigupiao.cloud.app import create_app
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.clock import BEIJING, ManualClock
from aigupiao.domain.market import Bar, Quote
from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.quote_json import quote_from_dict
from aigupiao.store import BarRepo, Database, QuoteRepo
from aigupiao.store.repositories.market import RawQuoteRepo

from ..conftest import eventually
from .stack import make_credentials, serve

DAY = date(2026, 3, 2)  # a Monday


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute, second), BEIJING)


def item(
    code: str, ts: datetime, volume: int, last: str = "1488.00", **extra: Any
) -> dict[str, Any]:
    """A pushed record; open/high/low default to ``last`` once traded (0 before)."""
    traded = last if volume else "0"
    return {
        "code": code,
        "name": "测试",
        "ts": ts.isoformat(),
        "last": last,
        "previous_close": "1480.00",
        "open": traded,
        "high": traded,
        "low": traded,
        "volume": volume,
        "amount": str(Decimal(last) * volume),
        **extra,
    }


@dataclass
class Cloud:
    runtime: CloudRuntime
    clock: ManualClock
    port: int
    api_key: str

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"X-API-Key": key or self.api_key},
            timeout=10,
        )

    def ws(self, path: str, key: str | None = None) -> str:
        return f"ws://127.0.0.1:{self.port}{path}?api_key={key or self.api_key}"


@contextlib.asynccontextmanager
async def market_cloud(
    tmp_path: Path, url: str, start: datetime = at(10, 0), **market: Any
) -> AsyncIterator[Cloud]:
    api_key, _ = await make_credentials(url)
    settings = CloudSettings.load(
        None,
        database_url=url,
        var_dir=tmp_path,
        agent={"enabled": False},
        market={"store_interval": 0.2, **market},
    )
    clock = ManualClock(start)
    runtime = CloudRuntime.build(settings, feed=None, clock=clock)
    server = await serve(create_app(runtime))
    try:
        yield Cloud(runtime, clock, server.port, api_key)
    finally:
        await server.stop()


async def test_pushed_quotes_are_validated_one_by_one(tmp_path: Path, empty_url: str) -> None:
    async with market_cloud(tmp_path, empty_url) as cloud, cloud.client() as client:
        now = cloud.clock.now()
        batch = [
            item("600519", now, 1000),
            item("sz000001", now, 500, last="10.00"),
            item("sh000001", now, 9999, last="3300.00"),  # the SSE index
            item("sh600000", now - timedelta(minutes=5), 100, last="9.00"),  # stale
            {"code": "sh600036", "ts": now.isoformat()},  # no prices
            item("sh600519", now, 900),  # volume went backwards
            item("sh601318", now, 0, last="0"),  # Sina before the first trade
        ]
        response = await client.post("/api/market/quotes", json={"quotes": batch})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["received"] == 7 and body["accepted"] == 2
        assert [(r["index"], r["code"], r["reason"]) for r in body["refused"]] == [
            (2, "sh000001", "not_a_security"),
            (3, "sh600000", "stale"),
            (4, "sh600036", "malformed"),
            (5, "sh600519", "volume_backwards"),
            (6, "sh601318", "no_trade_yet"),
        ]
        assert body["refused"][2]["message"] and "missing field" in body["refused"][2]["message_en"]

        listed = await client.get("/api/quotes")
        assert listed.headers["X-Total-Count"] == "2"
        assert [q["code"] for q in listed.json()] == ["sh600519", "sz000001"]
        moutai = listed.json()[0]
        assert moutai["last"] == "1488.00" and moutai["amount"] == "1488000.00"
        assert moutai["volume"] == 1000 and moutai["change_pct"] == "0.54"

        stats = (await client.get("/api/market/stats")).json()
        assert stats["symbols"] == 2
        assert stats["quotes"]["accepted"] == {"push:test": 2}
        assert stats["quotes"]["refused"] == {
            "push:test": {
                "malformed": 1,
                "no_trade_yet": 1,
                "not_a_security": 1,
                "stale": 1,
                "volume_backwards": 1,
            }
        }
        assert stats["raw"] == {"enabled": False}
        health = (await client.get("/api/health")).json()
        assert health["stats"]["quotes_refused"]["push:test"]["stale"] == 1
        assert "bar-store" in health["tasks"] and "raw-store" not in health["tasks"]


async def _stored_volume(runtime: CloudRuntime, code: str) -> int | None:
    async with runtime.db.session() as session:
        row = await QuoteRepo(session).get_latest(code)
    return None if row is None else int(row["volume"])


async def test_a_quote_beyond_the_market_is_refused_and_cannot_poison_the_store(
    tmp_path: Path,
) -> None:
    # A volume of 1e30 once passed, killed quote-store (no database column holds it) and
    # became the volume every later quote of the code was compared with: volume_backwards.
    url = f"sqlite+aiosqlite:///{tmp_path}/cloud.db"
    async with market_cloud(tmp_path, url) as cloud, cloud.client() as client:
        runtime, now = cloud.runtime, cloud.clock.now()
        first = await client.post("/api/market/quotes", json=[item("sh600519", now, 1000)])
        assert first.json()["accepted"] == 1
        bogus = [
            item("sh600519", now, 1000) | {"volume": Decimal("1e30")},
            item("sh600519", now, 1000) | {"amount": "1e30"},
            item("sh600519", now, 1000, last="1e400"),
            item("sh600519", now, 1000, bids=[["1488.00", 10**13]]),
            item("sh600519", now, 1000, limit_up="123456789"),
        ]
        text = json.dumps(bogus, default=str).replace('"1E+30"', "1e30")  # a JSON number
        answer = await client.post(
            "/api/market/quotes", content=text, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        refused = answer.json()["refused"]
        assert [r["reason"] for r in refused] == ["out_of_range"] * 5, refused
        assert "volume" in refused[0]["message_en"] and "amount" in refused[1]["message_en"]
        assert refused[0]["message"].startswith("数值超出范围")

        # Real quotes of the code go on being accepted and stored.
        later = await client.post("/api/market/quotes", json=[item("sh600519", now, 2000)])
        assert later.json()["accepted"] == 1, later.text
        await eventually(lambda: _stored_volume(runtime, "sh600519"), timeout=5)
        assert await eventually(lambda: _volume_is(runtime, "sh600519", 2000), timeout=5)
        health = (await client.get("/api/health")).json()
        assert health["status"] == "ok"
        assert health["task_details"]["quote-store"] == {
            "state": "running", "restarts": 0, "last_error": None,
        }  # fmt: skip
        assert health["stats"]["quotes_refused"]["push:test"] == {"out_of_range": 5}


async def _volume_is(runtime: CloudRuntime, code: str, volume: int) -> bool:
    return await _stored_volume(runtime, code) == volume


async def test_the_validator_refuses_a_feed_quote_beyond_the_market(tmp_path: Path) -> None:
    # Feeds publish Quote objects without quote_json: the validator bounds them too.
    url = f"sqlite+aiosqlite:///{tmp_path}/cloud.db"
    async with market_cloud(tmp_path, url) as cloud:
        market, now = cloud.runtime.market, cloud.clock.now()
        good = quote_from_dict(item("sh600519", now, 1000))
        assert isinstance(good, Quote)
        bogus = dataclasses.replace(good, volume=10**30)
        screened = market.publish([bogus], source="feed")
        assert [refusal.reason.value for _, refusal in screened.refused] == ["out_of_range"]
        later = dataclasses.replace(good, volume=1001)
        assert market.publish([later], source="feed").accepted == [later]
        await eventually(lambda: _volume_is(cloud.runtime, "sh600519", 1001), timeout=5)


async def test_a_failing_store_task_is_restarted_and_shown_in_health(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cloud.db"
    async with market_cloud(tmp_path, url) as cloud, cloud.client() as client:
        market, now = cloud.runtime.market, cloud.clock.now()
        flush, failures = market.flush, 0

        async def fails_once() -> None:
            nonlocal failures
            if failures == 0 and market.latest:
                failures += 1
                raise OSError("disk full")
            await flush()

        market.flush = fails_once  # type: ignore[method-assign]
        await client.post("/api/market/quotes", json=[item("sh600519", now, 1000)])

        async def restarted() -> dict[str, Any]:
            details = (await client.get("/api/health")).json()["task_details"]
            return details["quote-store"] if details["quote-store"]["restarts"] else {}

        store = await eventually(restarted, timeout=5)
        assert store["restarts"] == 1 and store["last_error"] == "OSError: disk full"
        await eventually(lambda: _volume_is(cloud.runtime, "sh600519", 1000), timeout=10)
        health = await client.get("/api/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.json()["task_details"]["quote-store"]["state"] == "running"
        assert health.json()["tasks"]["quote-store"] == "running"


async def test_quote_reads_filter_page_and_explain(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cloud.db"
    async with market_cloud(tmp_path, url) as cloud, cloud.client() as client:
        now = cloud.clock.now()
        codes = ["sh600519", "sz000001", "sh600036", "sz300750", "sh688981"]
        pushed = await client.post(
            "/api/market/quotes", json=[item(code, now, 100, last="20.00") for code in codes]
        )
        assert pushed.json()["accepted"] == 5  # a bare array works too
        page = await client.get("/api/quotes", params={"limit": 2, "offset": 1})
        assert page.headers["X-Total-Count"] == "5"
        assert [q["code"] for q in page.json()] == ["sh600519", "sh688981"]
        some = await client.get("/api/quotes", params={"codes": "sz000001,600519,sh601318"})
        assert [q["code"] for q in some.json()] == ["sh600519", "sz000001"]
        assert some.headers["X-Total-Count"] == "2"
        bad = await client.get("/api/quotes", params={"codes": "sz000001,12345"})
        assert bad.status_code == 422 and bad.json()["detail"]["code"] == "invalid_code"
        assert "12345" in bad.json()["detail"]["message"]
        one = await client.get("/api/quotes/300750")
        assert one.status_code == 200 and one.json()["code"] == "sz300750"
        missing = await client.get("/api/quotes/sh601318")
        assert missing.status_code == 404
        assert missing.json()["detail"]["message"] == "没有 sh601318 的行情"
        assert (await client.get("/api/quotes/abc")).status_code == 422
        # Stored quotes answer after a restart of the memory (flushed to quotes_latest).
        await cloud.runtime.market.flush()
        cloud.runtime.market.latest.clear()
        stored = (await client.get("/api/quotes/sh600519")).json()
        assert stored["last"] == "20.00" and stored["ts"] == now.isoformat()

        async with cloud.client("wrong") as intruder:
            assert (await intruder.get("/api/quotes")).status_code == 401
            assert (await intruder.post("/api/market/quotes", json=[])).status_code == 401
        garbage = await client.post(
            "/api/market/quotes", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert garbage.status_code == 400 and garbage.json()["detail"]["code"] == "malformed_json"
        shape = await client.post("/api/market/quotes", json={"quote": []})
        assert shape.status_code == 422 and shape.json()["detail"]["code"] == "invalid_shape"
        many = await client.post("/api/market/quotes", json={"quotes": [{}] * 10_001})
        assert many.status_code == 422 and many.json()["detail"]["code"] == "too_many_quotes"


async def test_pusher_websocket_acks_every_message(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cloud.db"
    async with market_cloud(tmp_path, url) as cloud:
        now = cloud.clock.now()
        async with connect(cloud.ws("/api/market/ws")) as socket:
            await socket.send(json.dumps({"id": 1, "quotes": [item("sh600519", now, 100)]}))
            ack = json.loads(await socket.recv())
            assert ack == {"type": "ack", "id": 1, "received": 1, "accepted": 1, "refused": []}
            await socket.send("{not json")
            error = json.loads(await socket.recv())
            assert error["type"] == "error" and error["code"] == "invalid_json"
            await socket.send(
                json.dumps([item("sh600519", now, 50), item("sz000001", now, 10, last="10.00")])
            )
            ack = json.loads(await socket.recv())
            assert ack["accepted"] == 1 and ack["refused"][0]["reason"] == "volume_backwards"
            await socket.send(json.dumps({"id": "x", "quotes": 5}))
            error = json.loads(await socket.recv())
            assert (error["id"], error["code"]) == ("x", "invalid_shape")
        headers = {"Authorization": f"Bearer {cloud.api_key}"}
        async with connect(
            f"ws://127.0.0.1:{cloud.port}/api/market/ws", additional_headers=headers
        ) as socket:
            await socket.send(json.dumps({"quotes": [item("sh600519", now, 200)]}))
            assert json.loads(await socket.recv())["accepted"] == 1
        assert cloud.runtime.market.latest["sh600519"].volume == 200
        for bad in (
            cloud.ws("/api/market/ws", "nope"),
            f"ws://127.0.0.1:{cloud.port}/api/market/ws",
        ):
            async with connect(bad) as socket:
                with pytest.raises(ConnectionClosed) as info:
                    await socket.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def _quotes_until_quiet(socket: ClientConnection, quiet: float = 0.5) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        try:
            messages.append(json.loads(await asyncio.wait_for(socket.recv(), quiet)))
        except TimeoutError:
            return messages


async def test_dashboard_stream_pushes_only_subscribed_codes_coalesced(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cloud.db"
    async with market_cloud(tmp_path, url) as cloud, cloud.client() as client:
        now = cloud.clock.now()
        await client.post("/api/market/quotes", json=[item("sh600519", now, 1)])
        async with connect(cloud.ws("/api/stream")) as socket:
            await socket.send(json.dumps({"op": "subscribe", "codes": ["600519"]}))
            answer = json.loads(await socket.recv())
            assert answer == {"type": "subscribed", "codes": ["sh600519"], "all": False}
            snapshot = json.loads(await socket.recv())  # the latest quote at once
            assert snapshot["type"] == "quotes" and snapshot["quotes"][0]["volume"] == 1

            market = cloud.runtime.market
            for volume in range(2, 202):  # 200 updates as fast as the loop goes
                await client.post(
                    "/api/market/quotes",
                    json=[
                        item("sh600519", now, volume),
                        item("sz000001", now, volume, last="10.00"),
                    ],
                )
            assert market.latest["sh600519"].volume == 201
            messages = await _quotes_until_quiet(socket)
            pushed = [q for m in messages for q in m["quotes"]]
            assert {q["code"] for q in pushed} == {"sh600519"}  # never the unsubscribed one
            assert pushed[-1]["volume"] == 201 and pushed[-1]["last"] == "1488.00"
            assert len(messages) < 50  # coalesced: far fewer pushes than updates

            await socket.send(json.dumps({"op": "unsubscribe", "codes": ["sh600519"]}))
            assert json.loads(await socket.recv())["codes"] == []
            await client.post("/api/market/quotes", json=[item("sh600519", now, 300)])
            assert await _quotes_until_quiet(socket, 0.4) == []

            await socket.send(json.dumps({"op": "subscribe", "codes": ["12345"]}))
            error = json.loads(await socket.recv())
            assert error["type"] == "error" and error["code"] == "invalid_code"
            await socket.send(json.dumps({"op": "dance"}))
            assert json.loads(await socket.recv())["code"] == "unknown_op"
            await socket.send(json.dumps({"op": "subscribe", "codes": ["*"]}))
            assert json.loads(await socket.recv())["all"] is True
            everything = await _quotes_until_quiet(socket, 0.4)
            assert {q["code"] for m in everything for q in m["quotes"]} == {"sh600519", "sz000001"}
            assert len(cloud.runtime.stream.clients) == 1
        await eventually(lambda: len(cloud.runtime.stream.clients) == 0)
        async with connect(cloud.ws("/api/stream", "nope")) as socket:
            with pytest.raises(ConnectionClosed) as info:
                await socket.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_minute_bars_are_stored_and_served(tmp_path: Path, empty_url: str) -> None:
    async with (
        market_cloud(tmp_path, empty_url, start=at(9, 25)) as cloud,
        cloud.client() as client,
    ):
        clock = cloud.clock
        day_range = {"open": "1481.00", "high": "1490.00", "low": "1470.00"}
        first = item("sh600519", at(9, 25), 1000, last="1481.00", **day_range)
        await client.post("/api/market/quotes", json=[first])
        clock.set(at(9, 30, 30))
        second = item("sh600519", at(9, 30, 30), 1500, last="1489.00", **day_range)
        await client.post("/api/market/quotes", json=[second])
        clock.set(at(9, 32, 10))
        bars = (await client.get("/api/bars/sh600519", params={"freq": "1m"})).json()
        assert [(b["end"], b["open"], b["close"], b["volume"]) for b in bars] == [
            ("2026-03-02T09:31:00+08:00", "1481.00", "1489.00", 1500),
            ("2026-03-02T09:32:00+08:00", "1489.00", "1489.00", 0),
        ]
        assert bars[0]["high"] == "1490.00" and bars[0]["low"] == "1470.00"
        assert bars[0]["amount"] == "2233500.00"  # the cumulative amount at 09:30:30
        # The bar-store task writes them by itself too.
        clock.set(at(9, 35, 5))
        await eventually(lambda: _count_bars(cloud.runtime.db, "sh600519", 5))
        window = await client.get(
            "/api/bars/600519",
            params={"freq": "1m", "start": "2026-03-02T09:33", "end": "2026-03-02T09:34:00+08:00"},
        )
        assert [b["end"][11:16] for b in window.json()] == ["09:33", "09:34"]
        last_two = await client.get("/api/bars/600519", params={"limit": 2})
        assert [b["end"][11:16] for b in last_two.json()] == ["09:34", "09:35"]

        async with cloud.runtime.db.session() as session:
            await BarRepo(session).upsert_many(
                [
                    Bar(parse_symbol("sh600519"), "1d", datetime.combine(day, time(15), BEIJING),
                        *(Decimal(p) for p in ("1480", "1500", "1470", "1488")), 100, Decimal(9))
                    for day in (date(2026, 2, 26), date(2026, 2, 27), date(2026, 3, 2))
                ]
            )  # fmt: skip
            await session.commit()
        daily = await client.get(
            "/api/bars/sh600519", params={"freq": "1d", "start": "2026-02-27", "end": "2026-02-27"}
        )
        assert [(b["end"], b["close"], b["freq"]) for b in daily.json()] == [
            ("2026-02-27T15:00:00+08:00", "1488.00", "1d")
        ]
        bad_freq = await client.get("/api/bars/sh600519", params={"freq": "5m"})
        assert bad_freq.status_code == 422 and bad_freq.json()["detail"]["code"] == "invalid_freq"
        assert "1m" in bad_freq.json()["detail"]["message"]
        backwards = await client.get(
            "/api/bars/sh600519", params={"start": "2026-03-02", "end": "2026-03-01"}
        )
        assert (
            backwards.status_code == 422 and backwards.json()["detail"]["code"] == "invalid_range"
        )
        garbled = await client.get("/api/bars/sh600519", params={"start": "tuesday"})
        assert garbled.status_code == 422 and garbled.json()["detail"]["code"] == "invalid_range"
        assert (await client.get("/api/bars/sh600519", params={"limit": 0})).status_code == 422
        assert (await client.get("/api/bars/sh601318")).json() == []
        stats = (await client.get("/api/market/stats")).json()
        assert stats["bars"]["stored"] >= 5 and stats["bars"]["errors"] == 0


async def _count_bars(db: Database, code: str, at_least: int) -> bool:
    async with db.session() as session:
        return len(await BarRepo(session).list(code, "1m")) >= at_least


async def test_raw_snapshots_only_when_configured_and_pruned(
    tmp_path: Path, empty_url: str
) -> None:
    ten_days_ago = at(10, 0) - timedelta(days=10)
    old = quote_from_dict(item("sh600036", ten_days_ago, 5, last="30.00"))
    assert isinstance(old, Quote)
    db = Database(empty_url)
    try:
        await db.upgrade()
        async with db.session() as session:
            await RawQuoteRepo(session).add_many([("old", old, ten_days_ago)])
            await session.commit()
    finally:
        await db.dispose()
    raw = {"keep_raw": True, "raw_retention_days": 7}
    async with market_cloud(tmp_path, empty_url, **raw) as cloud, cloud.client() as client:
        now = cloud.clock.now()
        pushed = await client.post(
            "/api/market/quotes",
            json=[item("sh600519", now, 10), item("sh600519", now, 5), item("sh600519", now, 20)],
        )
        assert pushed.json()["accepted"] == 2  # the refused one is not kept either

        async def rows(code: str) -> list[dict[str, Any]]:
            async with cloud.runtime.db.session() as session:
                return await RawQuoteRepo(session).list(code)

        async def stored_two() -> bool:
            return len(await rows("sh600519")) == 2

        await eventually(stored_two)  # written by the raw-store task
        stored = await rows("sh600519")
        assert [(r["volume"], r["source"]) for r in stored] == [
            (10, "push:test"),
            (20, "push:test"),
        ]
        assert stored[0]["ts"] == now and stored[0]["last"] == Decimal("1488.00")
        assert await rows("sh600036") == []  # older than 7 days: deleted at start
        stats = (await client.get("/api/market/stats")).json()
        assert stats["raw"]["enabled"] is True and stats["raw"]["deleted"] == 1
        assert stats["raw"]["stored"] == 2 and stats["raw"]["retention_days"] == 7
        health = (await client.get("/api/health")).json()
        assert health["tasks"]["raw-store"] == "running"
        assert health["tasks"]["raw-retention"] == "running"
