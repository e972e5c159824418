"""A real cloud and a real local node in one event loop, on 127.0.0.1 ports.

Both servers are uvicorn on real sockets and the node links to the cloud over
a real WebSocket, exactly as in ``aigupiao up``; only the wiring is done here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.brokers.paper.store import PaperStore
from aigupiao.cloud.app import create_app as create_cloud_app
from aigupiao.cloud.app import server_options
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.clock import BEIJING, TradingDayClock
from aigupiao.core.net import listen
from aigupiao.local.app import create_app as create_local_app
from aigupiao.local.runtime import LocalRuntime
from aigupiao.local.settings import LocalSettings
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import load_universe
from aigupiao.protocol.v1 import MAX_FRAME_BYTES
from aigupiao.store import ApiKeyRepo, Database, NodeTokenRepo
from aigupiao.store.repositories.auth import Scope

from ..conftest import SHARED, eventually

# A Tuesday: the simulated day starts at 09:30 whatever the wall clock says.
SIM_DAY = date(2026, 11, 24)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Running:
    server: _Server
    task: asyncio.Task[None]
    port: int

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 20)


async def serve(app: Any, **options: Any) -> Running:
    """Serve ``app`` on a free port; ``options`` for uvicorn (forwarded headers are
    believed from nobody unless they say otherwise, as ``aigupiao`` serves)."""
    sock = listen("127.0.0.1", 0)
    server = _Server(
        uvicorn.Config(
            app,
            log_level="warning",
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            ws_max_size=MAX_FRAME_BYTES,
            **{"proxy_headers": False, "forwarded_allow_ips": [], **options},
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started or task.done(), timeout=20)
    if task.done():
        task.result()
    return Running(server, task, sock.getsockname()[1])


async def make_credentials(db_url: str, account: str = "paper-1") -> tuple[str, str]:
    db = Database(db_url)
    try:
        await db.upgrade()
        async with db.session() as session:
            key = await ApiKeyRepo(session).add("test")
            token = await NodeTokenRepo(session).add("local-1", account)
            await session.commit()
    finally:
        await db.dispose()
    return key, token


@dataclass
class Stack:
    cloud: CloudRuntime
    node: LocalRuntime | None
    sim: SimMarket
    cloud_server: Running
    node_server: Running | None
    api_key: str
    node_token: str
    tmp: Path

    @property
    def cloud_url(self) -> str:
        return f"http://127.0.0.1:{self.cloud_server.port}"

    @property
    def cloud_app(self) -> Any:
        """The cloud's FastAPI app (``app.state`` holds the login throttle)."""
        return self.cloud_server.server.config.app

    @property
    def node_url(self) -> str:
        assert self.node_server is not None
        return f"http://127.0.0.1:{self.node_server.port}"

    async def add_api_key(self, name: str, scope: Scope) -> str:
        """A new API key of ``scope`` (read, trade or admin) in the cloud's database."""
        async with self.cloud.db.session() as session:
            key = await ApiKeyRepo(session).add(name, scope)
            await session.commit()
        return key

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key or self.api_key}"}
        return httpx.AsyncClient(base_url=self.cloud_url, headers=headers, timeout=30)

    async def start_node(
        self,
        *,
        api_key: str | None = "node-key",
        token: str | None = None,
        node_id: str = "local-1",
        account: str = "paper-1",
        data_dir: Path | None = None,
        via_port: int | None = None,
        latency: float = 0.0,
        wall_clock: Callable[[], datetime] | None = None,
        paper_store: PaperStore | None = None,
    ) -> LocalRuntime:
        """Start a node; ``via_port`` routes its link through a proxy on that port;
        ``paper_store`` holds the paper account to start from."""
        settings = LocalSettings.load(
            None,
            server={"host": "127.0.0.1", "port": 0, "api_key": api_key},
            cloud={
                "api_url": self.cloud_url,
                "websocket_url": f"ws://127.0.0.1:{via_port or self.cloud_server.port}"
                "/api/cloud-local-trading/ws",
                "token": token or self.node_token,
            },
            node={"id": node_id, "account": account, "data_dir": data_dir or self.tmp / "node"},
        )
        broker = PaperBroker(
            account, settings.trading.paper_cash, self.cloud.clock, self.sim.latest,
            latency=latency, store=paper_store,
        )  # fmt: skip
        self.cloud.market.subscribe(lambda quotes: [broker.on_quote(q) for q in quotes])
        self.node = LocalRuntime.build(
            settings, broker, wall_clock=wall_clock or (lambda: datetime.now(UTC))
        )
        if self.node.link is not None:
            self.node.link.fast_reconnect()
        self.node_server = await serve(create_local_app(self.node))
        return self.node

    async def stop_node(self) -> None:
        if self.node_server is not None:
            await self.node_server.stop()
            self.node_server, self.node = None, None

    async def wait_online(self, node_id: str = "local-1") -> None:
        await eventually(lambda: node_id in self.cloud.hub.links, timeout=15)


@contextlib.asynccontextmanager
async def running_stack(
    tmp: Path,
    *,
    db_url: str | None = None,
    with_node: bool = True,
    agent: bool | dict[str, Any] = False,
    **cloud_overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the cloud (simulated market from the real snapshot) and optionally one node;
    ``agent`` runs the agent, a dict with these agent settings on top."""
    extra = agent if isinstance(agent, dict) else {}
    url = db_url or f"sqlite+aiosqlite:///{tmp / 'cloud.db'}"
    api_key, node_token = await make_credentials(url)
    settings = CloudSettings.load(
        None,
        database_url=url,
        var_dir=tmp,
        # The tests' usual trade, 100 sh600519 (about 147,000 CNY), is 15% of the 1,000,000
        # paper account: above the default cap of 10% per symbol (tests/integration/test_risk_*
        # check the defaults).
        agent={
            "enabled": bool(agent),
            "decision_interval": 0.5,
            "max_position_size": "0.2",
            **extra,
        },
        market={"sim_interval": 0.2, "store_interval": 0.5},
        **cloud_overrides,
    )
    universe = load_universe(SHARED if SHARED.is_dir() else None, 50)
    clock = TradingDayClock(datetime.combine(SIM_DAY, time(9, 30), BEIJING))
    sim = SimMarket(universe, clock, seed=7, interval=0.2)
    symbols = [info.as_row() for info in universe]
    cloud = CloudRuntime.build(settings, feed=sim, clock=clock, symbols=symbols)
    cloud_server = await serve(create_cloud_app(cloud), **server_options(settings.server))
    stack = Stack(cloud, None, sim, cloud_server, None, api_key, node_token, tmp)
    try:
        await eventually(lambda: "sh600519" in cloud.market.latest, timeout=10)
        if with_node:
            await stack.start_node()
            await stack.wait_online()
        yield stack
    finally:
        await stack.stop_node()
        await cloud_server.stop()


def dec(value: Any) -> Decimal:
    return Decimal(str(value))
