"""``aigupiao bench link``: trades through the cloud API to a node on the paper broker.

Everything is real except the distance: one process runs the cloud (uvicorn, SQLite) and a
node whose link is a real WebSocket on 127.0.0.1; trades go in through the HTTP API one at a
time, and each latency is measured from the request to the stored result (the answer of
``execute-trade`` comes back only after the result is in the database).

With ``chaos`` the node's connection is cut at random moments and the node is restarted
(gracefully, or the way a crash would leave it); the broker outlives the node, as a desktop
client does. At the end every command must have a stored final result, and the broker is
asked how many times each command id was executed.

``stages_ms`` splits an order's time in the cloud (medians): ``place`` (everything before
sending), of which ``open_orders`` (the account's open orders read for the gate), ``gate``
and ``store`` (decision and command in one transaction), then ``send`` (to the node and
back with the result).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn

from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.cloud.app import create_app
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.services.pipeline import Batch, DecisionPipeline
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.clock import TradingDayClock
from aigupiao.core.net import listen
from aigupiao.local.runtime import LocalRuntime
from aigupiao.local.settings import LocalSettings
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import default_shared_dir, load_universe
from aigupiao.protocol.v1 import MAX_FRAME_BYTES
from aigupiao.store import ApiKeyRepo, CommandRepo, Database, NodeTokenRepo

from .wire import KeepAliveClient

FINAL = {"done", "rejected", "failed", "expired", "unknown"}
ACCOUNT, NODE = "bench-1", "bench-node"
TRADE_PATH = "/api/cloud-local-trading/execute-trade"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


_STAGES = {
    "place": (DecisionPipeline, "place"),
    "open_orders": (DecisionPipeline, "_read_open_orders"),
    "gate": (Batch, "judge"),
    "store": (Batch, "store"),
    "send": (DecisionPipeline, "send"),
}


@contextlib.contextmanager
def _stage_timer() -> Iterator[dict[str, list[float]]]:
    """Time the pipeline's steps (see the module docstring) while the bench runs."""
    times: dict[str, list[float]] = {name: [] for name in _STAGES}
    saved = []
    for name, (cls, attribute) in _STAGES.items():
        original = getattr(cls, attribute)
        saved.append((cls, attribute, original))

        def timed(
            *args: Any, _original: Any = original, _into: list[float] = times[name], **kwargs: Any
        ) -> Any:
            async def run() -> Any:
                started = time.perf_counter()
                try:
                    return await _original(*args, **kwargs)
                finally:
                    _into.append(time.perf_counter() - started)

            return run()

        setattr(cls, attribute, timed)
    try:
        yield times
    finally:
        for cls, attribute, original in saved:
            setattr(cls, attribute, original)


@dataclass
class _Chaos:
    rng: random.Random
    events: Counter[str] = field(default_factory=Counter)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(
    commands: int,
    *,
    chaos: bool = False,
    seed: int = 1,
    db_url: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Run the benchmark on a new SQLite file, or on ``db_url`` (an empty database)."""
    with tempfile.TemporaryDirectory(prefix="aigupiao-bench-") as tmp:
        url = db_url or f"sqlite+aiosqlite:///{Path(tmp) / 'cloud.db'}"
        with _stage_timer() as stages:
            result = await _run(Path(tmp), url, commands, chaos, seed, progress)
        result["stages_ms"] = {
            name: round(statistics.median(times) * 1000, 3) if times else None
            for name, times in stages.items()
        }
        return result


async def _run(
    tmp: Path, url: str, commands: int, chaos: bool, seed: int, progress: Any
) -> dict[str, Any]:
    api_key, token = await _credentials(url)
    settings = CloudSettings.load(
        None,
        database_url=url,
        var_dir=tmp,
        # The bench sends 1,000 buys in seconds: the gate's pacing limits would stop it.
        agent={
            "enabled": False,
            "max_positions": None,
            "max_orders_per_minute": None,
            "duplicate_window": 0,
        },
        local_trading={"api_timeout": 2 if chaos else 30, "command_ttl": 60},
    )
    universe = [i for i in load_universe(default_shared_dir(), 50) if i.previous_close < 60]
    clock = TradingDayClock.starting_today()
    sim = SimMarket(universe, clock, seed=seed)
    cloud = CloudRuntime.build(settings, feed=sim, clock=clock)
    listener = listen("127.0.0.1", 0)
    port = listener.getsockname()[1]
    server = _Server(
        uvicorn.Config(
            create_app(cloud),
            log_level="error",
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            ws_max_size=MAX_FRAME_BYTES,
            timeout_keep_alive=300,  # the client keeps one connection through chaos pauses
            proxy_headers=False,  # as `aigupiao` serves: forwarded headers from nobody
        )
    )
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    broker = PaperBroker(ACCOUNT, Decimal(10**9), clock, sim.latest)
    cloud.market.subscribe(lambda quotes: [broker.on_quote(q) for q in quotes])
    local = LocalSettings.load(
        None,
        server={"api_key": "bench"},
        cloud={
            "api_url": f"http://127.0.0.1:{port}",
            "websocket_url": f"ws://127.0.0.1:{port}/api/cloud-local-trading/ws",
            "token": token,
        },
        node={"id": NODE, "account": ACCOUNT, "data_dir": tmp / "node"},
    )
    node = await _start_node(local, broker)
    state = _Chaos(random.Random(seed))
    latencies: list[float] = []
    ids: list[str] = []
    pending: dict[str, float] = {}
    started = time.perf_counter()
    try:
        await _wait(lambda: server.started, timeout=30)
        async with KeepAliveClient("127.0.0.1", port, {"x-api-key": api_key}) as client:
            await _wait(lambda: _ready(cloud, sim), timeout=30)
            for n in range(commands):
                symbol = universe[n % len(universe)].symbol.full
                body = {
                    "action": "buy",
                    "stock_code": symbol,
                    "quantity": 100,
                    "price": None,
                    "client_order_id": f"bench-{n}",
                }
                fault = None
                if chaos and state.rng.random() < 0.05:
                    fault = asyncio.create_task(_fault(state, node, local, broker))
                t0 = time.perf_counter()
                status, answer = await client.post(TRADE_PATH, body)
                while status == 409 and chaos:
                    # The node is reconnecting: nothing was stored, so retry the same
                    # request (same client_order_id) once it is back, as an agent would.
                    await _wait(lambda: NODE in cloud.hub.links, timeout=30)
                    status, answer = await client.post(TRADE_PATH, body)
                elapsed = time.perf_counter() - t0
                if status not in (200, 202):
                    raise RuntimeError(f"bench request refused: {status} {answer}")
                command_id = answer["command_id"]
                ids.append(command_id)
                if status == 200:
                    latencies.append(elapsed)
                else:
                    pending[command_id] = t0
                if fault is not None:
                    node = await fault
                if chaos and node.link is not None and node.link.state.value != "online":
                    await _wait(lambda: NODE in cloud.hub.links, timeout=30)
                if progress is not None:
                    progress(n + 1)
            statuses = await _settle(cloud.db, ids, pending, latencies, timeout=60)
        orders = Counter(order.client_order_id for order in await broker.get_orders())
    finally:
        await node.stop(close_broker=True)
        server.should_exit = True
        await serving
    executed = [orders.get(command_id, 0) for command_id in ids]
    lost = sum(
        1
        for command_id, count in zip(ids, executed, strict=True)
        if statuses.get(command_id) not in FINAL or (statuses[command_id] == "done") != (count > 0)
    )
    return {
        "bench": "link",
        "chaos": chaos,
        "database": url.split(":", 1)[0],
        "sent": len(ids),
        "executed_once": sum(1 for count in executed if count == 1),
        "executed_twice": sum(1 for count in executed if count > 1),
        "lost": lost,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3) if latencies else None,
        "statuses": dict(Counter(statuses.values())),
        "faults": dict(state.events),
        "seconds": round(time.perf_counter() - started, 2),
    }


async def _credentials(url: str) -> tuple[str, str]:
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as session:
            key = await ApiKeyRepo(session).add("bench")
            token = await NodeTokenRepo(session).add(NODE, ACCOUNT)
            await session.commit()
    finally:
        await db.dispose()
    return key, token


async def _start_node(settings: LocalSettings, broker: PaperBroker) -> LocalRuntime:
    node = LocalRuntime.build(settings, broker)
    if node.link is not None:
        node.link.fast_reconnect()
    await node.start()
    return node


async def _fault(
    state: _Chaos, node: LocalRuntime, settings: LocalSettings, broker: PaperBroker
) -> LocalRuntime:
    """One random fault a few milliseconds into the next command; returns the live node."""
    await asyncio.sleep(state.rng.uniform(0, 0.004))
    kind = state.rng.choice(["drop", "drop", "restart", "crash"])
    state.events[kind] += 1
    if kind == "drop":
        if node.link is not None:
            node.link.drop_connection()
        return node
    if kind == "restart":
        await node.stop(close_broker=False)
    else:
        await node.crash()
    return await _start_node(settings, broker)


def _ready(cloud: CloudRuntime, sim: SimMarket) -> bool:
    return NODE in cloud.hub.links and len(cloud.market.latest) == len(sim.universe)


async def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("bench setup did not become ready")
        await asyncio.sleep(0.005)


async def _settle(
    db: Database, ids: list[str], pending: dict[str, float], latencies: list[float], timeout: float
) -> dict[str, str]:
    """Wait until every command has a final stored status; time the ones that answered 202."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.session() as session:
            rows = await CommandRepo(session).list(limit=len(ids) + 100)
        statuses = {row["id"]: row["status"] for row in rows}
        for command_id in [c for c in pending if statuses.get(c) in FINAL]:
            latencies.append(time.perf_counter() - pending.pop(command_id))
        if all(statuses.get(c) in FINAL for c in ids) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.01)
