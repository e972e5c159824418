"""The ``aigupiao`` command. The only place that picks concrete adapters.

aigupiao up         cloud + one local node + simulated market + paper broker
aigupiao cloud      the cloud server alone
aigupiao local      a local node alone (``--config local_config.json``)
aigupiao db upgrade / apikey add|list|revoke / node add|list|revoke / user add|list|remove|passwd
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from aigupiao.bench import broker as broker_bench
from aigupiao.bench import link as link_bench
from aigupiao.brokers.base import BrokerError
from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.cloud.app import create_app as create_cloud_app
from aigupiao.cloud.app import server_options as cloud_server_options
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.clock import Clock, LiveClock, TradingDayClock
from aigupiao.core.config import ConfigError
from aigupiao.core.files import private_dir
from aigupiao.core.lifecycle import run as run_loop
from aigupiao.core.logging import setup_logging
from aigupiao.core.net import listen
from aigupiao.domain.market import Quote
from aigupiao.domain.users import Role
from aigupiao.local.app import create_app as create_local_app
from aigupiao.local.names import NameSource
from aigupiao.local.quotes import CloudQuoteCache
from aigupiao.local.runtime import LocalRuntime
from aigupiao.local.settings import LocalSettings
from aigupiao.market.feeds.base import FeedError
from aigupiao.market.sim import SimMarket
from aigupiao.protocol.v1 import MAX_FRAME_BYTES
from aigupiao.store import ApiKeyRepo, AuditRepo, Database, DuplicateName, NodeTokenRepo, UserRepo
from aigupiao.store.passwords import new_password
from aigupiao.store.repositories.auth import SCOPES

from .brokers import UnknownBroker, build_broker, check_broker_name
from .calendar import use_calendar_update
from .feeds import build_feed, universe_for
from .symbols import use_securities_update

app = typer.Typer(help="aigupiao：A股自动交易（云端 Agent + 本地执行节点）", no_args_is_help=True)
db_app = typer.Typer(help="数据库 (database)")
apikey_app = typer.Typer(help="API 密钥 (API keys)")
node_app = typer.Typer(help="本地节点令牌 (local node tokens)")
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(node_app, name="node")
bench_app = typer.Typer(help="基准测试 (benchmarks): 最后一行输出一个 JSON 对象")
app.add_typer(bench_app, name="bench")
console = Console(soft_wrap=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="JSON 配置文件")]


def _fail(message: str) -> typer.Exit:
    # escape: messages quote things like ``pip install "aigupiao[ths]"``, not markup.
    console.print(f"[red]错误 (error):[/red] {escape(message)}")
    return typer.Exit(code=2)


def _cloud_settings(config: Path | None, **overrides: Any) -> CloudSettings:
    try:
        return CloudSettings.load(config, **overrides)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


# -- wiring ---------------------------------------------------------------------------


def build_cloud(settings: CloudSettings) -> tuple[CloudRuntime, SimMarket | None]:
    """The cloud runtime with the configured feed (``market.feed``); the simulator too when
    that is the feed (``aigupiao up`` shows its size)."""
    use_calendar_update(settings.var_dir / "calendar.json")  # before the clock: it walks days
    use_securities_update(settings.var_dir / "symbols.json")  # before the feed and the broker
    market = settings.market
    universe = universe_for(market)
    clock: Clock = (
        TradingDayClock.starting_today(speed=market.sim_speed)
        if market.feed == "sim"
        else LiveClock()
    )
    try:
        feed = build_feed(market, clock=clock, universe=universe)
    except (ValueError, FeedError) as exc:
        raise _fail(str(exc)) from exc
    if market.feed == "replay":
        clock = getattr(feed, "clock", clock)  # the replayed time drives everything else
    runtime = CloudRuntime.build(
        settings, feed=feed, clock=clock, symbols=[info.as_row() for info in universe]
    )
    return runtime, feed if isinstance(feed, SimMarket) else None


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front, so a taken port fails before anything starts."""
    try:
        return listen(host, port)
    except OSError as exc:
        raise _fail(
            f"无法监听 {host}:{port}：{exc.strerror}（端口被占用？）(cannot listen)"
        ) from exc


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``aigupiao`` stops its servers in order.

    Forwarded headers (X-Forwarded-For/-Proto) are believed only from ``trusted_proxies``
    (none by default; uvicorn's own default would believe any peer on 127.0.0.1).
    """

    def __init__(
        self,
        app_: Any,
        sock: socket.socket,
        level: str,
        *,
        ssl_certfile: Path | None = None,
        ssl_keyfile: Path | None = None,
        proxies: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            uvicorn.Config(
                app_,
                ssl_certfile=ssl_certfile,
                ssl_keyfile=ssl_keyfile,
                **(proxies or {"proxy_headers": False, "forwarded_allow_ips": []}),
                log_level=level.lower(),
                lifespan="on",
                ws="websockets-sansio",
                ws_per_message_deflate=False,  # small JSON frames: latency over bytes
                ws_max_size=MAX_FRAME_BYTES,  # oversized frames close the socket (1009)
            )
        )
        self.sock = sock

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_until_signal(servers: list[_Server], extra: list[asyncio.Task[Any]]) -> None:
    """Start ``servers`` in order, run until SIGINT/SIGTERM, stop them in reverse order.

    Stopping in reverse lets the local node (started last) finish in-flight
    commands and report them while the cloud is still up.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopper = asyncio.create_task(stop.wait(), name="signal")
    tasks: list[asyncio.Task[None]] = []
    for server in servers:
        task = asyncio.create_task(server.serve(sockets=[server.sock]), name="server")
        tasks.append(task)
        # uvicorn exposes only a `started` flag, so poll it.
        while not server.started and not task.done() and not stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if task.done() or stop.is_set():
            break
    await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for task in extra:
        task.cancel()
    for server, task in reversed(list(zip(servers, tasks, strict=False))):
        server.should_exit = True
        with contextlib.suppress(SystemExit):
            await task
    stopper.cancel()
    if not all(server.started for server in servers) and not stop.is_set():
        raise _fail("服务启动失败，见上方日志 (a server failed to start; see the log above)")


# -- credentials --------------------------------------------------------------------


def _interactive() -> bool:
    """Whether stdout is a terminal someone watches (not a service's log file or pipe)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


async def _ensure_credentials(
    db: Database, path: Path, node_name: str, account: str
) -> dict[str, str]:
    """Reuse ``path``'s API key (scope ``trade``) and node token if the database still
    accepts them, else mint new. With no users yet, create ``admin`` with a random
    password (kept in ``path`` as ``admin_password``).

    ``path`` is written ``0600``. The secrets themselves are printed only to a terminal:
    when stdout is a log file or a pipe (a service), only where they are is printed.
    """
    await db.upgrade()
    saved: dict[str, str] = {}
    if path.is_file():
        with contextlib.suppress(ValueError, OSError):
            saved = json.loads(path.read_text(encoding="utf-8"))
    async with db.session() as session:
        keys, tokens = ApiKeyRepo(session), NodeTokenRepo(session)
        api_key = saved.get("api_key")
        found = await keys.verify(api_key) if api_key else None
        if not api_key or found is None or found.scope != "trade":
            api_key = await _add_unique(keys.add, "default")  # scope trade
        node_token = saved.get("node_token")
        if not node_token or await tokens.verify(node_token) is None:
            node_token = await _add_unique(
                lambda name: tokens.add(name, account, node_id=node_name), node_name
            )
        admin_password = None
        users = UserRepo(session)
        if await users.count() == 0:
            admin_password = new_password()
            await users.add("admin", admin_password, Role.ADMIN)
            await AuditRepo(session).add("cli:up", "user.create", "admin", {"role": "admin"})
        await session.commit()
    credentials = {**saved, "api_key": api_key, "node_token": node_token}
    if admin_password is not None:
        credentials["admin_password"] = admin_password
    if credentials != saved:
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(credentials, handle, indent=2)
        os.chmod(path, 0o600)
        _print_credentials(path, credentials, admin_password)
    return credentials


def _print_credentials(path: Path, credentials: dict[str, str], admin_password: str | None) -> None:
    """Say where the new credentials are; show them too, but only on a terminal."""
    shown = _interactive()
    console.print(f"[bold]已生成凭据 (new credentials) → {escape(str(path))}[/bold] (0600)")
    if shown:
        console.print(f"  API key (trade): {credentials['api_key']}")
        console.print(f"  node token:      {credentials['node_token']}")
    else:
        console.print(
            "  密钥未输出：标准输出不是终端，请查看上述文件 "
            "(secrets not printed: stdout is not a terminal; read them from that file)"
        )
    if admin_password is None:
        return
    if shown:
        console.print(
            "[bold]已创建管理员 (created the admin user)[/bold] 用户名 username: admin  "
            f"密码 password: {admin_password}  (只显示一次 shown once; 另存于 also in {path})"
        )
    else:
        console.print(
            "[bold]已创建管理员 (created the admin user)[/bold] 用户名 username: admin，"
            f"密码见 {escape(str(path))} 的 admin_password (the password is in that file)"
        )


async def _add_unique(add: Any, base: str) -> str:
    """``add(name)`` with ``base``, then ``base-2``, ... if the name is taken (e.g. revoked)."""
    for suffix in range(1, 1000):
        name = base if suffix == 1 else f"{base}-{suffix}"
        with contextlib.suppress(DuplicateName):
            return str(await add(name))
    raise RuntimeError(f"no free name for {base}")


# -- commands -------------------------------------------------------------------------


@app.command()
def up(
    config: ConfigOption = None,
    cloud_port: Annotated[int, typer.Option(help="云端端口")] = 8000,
    node_port: Annotated[int, typer.Option(help="本地节点端口")] = 8888,
    var_dir: Annotated[Path, typer.Option(help="数据目录 (SQLite, credentials)")] = Path("var"),
    summary_every: Annotated[float, typer.Option(help="摘要行间隔秒数")] = 5.0,
) -> None:
    """一键启动：云端 + 本地节点 + 模拟行情 + 模拟券商 + 默认 Agent。"""
    overrides: dict[str, Any] = {
        "var_dir": var_dir,
        "server": {"host": "127.0.0.1", "port": cloud_port},
    }
    if "AIGUPIAO_DATABASE_URL" not in os.environ:
        overrides["database_url"] = f"sqlite+aiosqlite:///{var_dir / 'aigupiao.db'}"
    settings = _cloud_settings(config, **overrides)
    setup_logging(settings.log_level)
    run_loop(_up(settings, node_port, summary_every))


async def _up(settings: CloudSettings, node_port: int, summary_every: float) -> None:
    cloud_socket = _bind("127.0.0.1", settings.server.port)
    node_socket = _bind("127.0.0.1", node_port)
    cloud_url = f"http://127.0.0.1:{settings.server.port}"
    ws_url = f"ws://127.0.0.1:{settings.server.port}/api/cloud-local-trading/ws"
    node_id, account = "local-1", "paper-1"
    bootstrap = Database(settings.database_url)
    try:
        credentials = await _ensure_credentials(
            bootstrap, settings.var_dir / "credentials.json", node_id, account
        )
    finally:
        await bootstrap.dispose()
    cloud, sim = build_cloud(settings)
    local_settings = LocalSettings.load(
        None,
        server={"host": "127.0.0.1", "port": node_port, "api_key": credentials["api_key"]},
        cloud={"api_url": cloud_url, "websocket_url": ws_url, "token": credentials["node_token"]},
        node={"id": node_id, "account": account, "data_dir": settings.var_dir / "node"},
    )
    quotes = cloud.market.quote  # the feed's latest, as validated by the cloud
    broker = build_broker(local_settings, cloud.clock, quotes)  # paper, kept in var/node
    assert isinstance(broker, PaperBroker)
    cloud.market.subscribe(lambda batch: [broker.on_quote(q) for q in batch])
    node = LocalRuntime.build(local_settings, broker, names=_quote_names(quotes))
    servers = [
        _Server(
            create_cloud_app(cloud),
            cloud_socket,
            "warning",
            proxies=cloud_server_options(settings.server),
        ),
        _Server(create_local_app(node), node_socket, "warning"),
    ]
    console.print(
        f"[bold green]aigupiao 已启动 (running)[/bold green]\n"
        f"  云端 cloud:      {cloud_url}  (API 文档 {cloud_url}/docs)\n"
        f"  本地节点 node:   http://127.0.0.1:{node_port}/status\n"
        f"  行情 market:     {_market_line(settings, sim)}, "
        f"券商 broker: paper 1,000,000 CNY\n"
        f"  凭据 credentials: {settings.var_dir / 'credentials.json'}\n"
        f"  按 Ctrl-C 停止 (Ctrl-C to stop)"
    )
    summary = asyncio.create_task(_summary(cloud, node, summary_every), name="summary")
    await _serve_until_signal(servers, [summary])
    console.print("已停止 (stopped cleanly)")


def _market_line(settings: CloudSettings, sim: SimMarket | None) -> str:
    if sim is not None:
        return f"模拟 {len(sim.universe)} 只股票 (simulated)"
    return f"{settings.market.feed} 行情源 (feed)"


def _quote_names(latest: Callable[[str], Quote | None]) -> NameSource:
    """Security names for export files, from the quotes the node already has."""

    async def names(codes: Collection[str]) -> Mapping[str, str]:
        quotes = {code: latest(code) for code in codes}
        return {code: quote.name for code, quote in quotes.items() if quote is not None}

    return names


async def _summary(cloud: CloudRuntime, node: LocalRuntime, every: float) -> None:
    last_quotes, loop = cloud.stats.quotes, asyncio.get_running_loop()
    last_time = loop.time()
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        rate = (cloud.stats.quotes - last_quotes) / (now - last_time)
        last_quotes, last_time = cloud.stats.quotes, now
        stats = cloud.stats
        link = node.link.state.value if node.link else "disabled"
        console.print(
            f"[dim]{cloud.clock.now():%Y-%m-%d %H:%M:%S}[/dim] 行情 {rate:.0f}/s · "
            f"决策 {stats.decisions} (通过 {stats.decisions_accepted}) · 委托 {stats.orders} · "
            f"成交 {stats.fills} · 节点 {link}",
            highlight=False,
        )


@app.command()
def cloud(config: ConfigOption = None) -> None:
    """只启动云端服务器 (the cloud server alone)."""
    settings = _cloud_settings(config)
    setup_logging(settings.log_level)
    runtime, _ = build_cloud(settings)

    async def main() -> None:
        sock = _bind(settings.server.host, settings.server.port)
        server = _Server(
            create_cloud_app(runtime), sock, "info",
            ssl_certfile=settings.server.ssl_certfile, ssl_keyfile=settings.server.ssl_keyfile,
            proxies=cloud_server_options(settings.server),
        )  # fmt: skip
        scheme = "https" if settings.server.ssl_certfile else "http"
        console.print(f"云端 cloud: {scheme}://{settings.server.host}:{settings.server.port}")
        await _serve_until_signal([server], [])

    run_loop(main())


@app.command()
def local(config: ConfigOption = None) -> None:
    """只启动本地节点 (a local node alone; its broker is trading.broker: paper, ths or qmt)."""
    try:
        settings = LocalSettings.load(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    setup_logging(settings.log_level)
    use_calendar_update(settings.node.data_dir.parent / "calendar.json")  # var/ by default
    use_securities_update(settings.node.data_dir.parent / "symbols.json")
    try:
        check_broker_name(settings)
    except UnknownBroker as exc:
        raise _fail(str(exc)) from exc
    if not settings.cloud.token:
        raise _fail(
            "缺少 cloud.token：在云端运行 `aigupiao node add NAME` 获取 (missing cloud.token)"
        )

    async def main() -> None:
        quotes = CloudQuoteCache(
            settings.cloud.api_url, settings.cloud.token or "", ca_file=settings.cloud.ca_file
        )
        # The paper broker follows the cloud market's time; a real broker trades in real time.
        paper = settings.trading.broker == "paper"
        clock: Clock = quotes.clock(LiveClock()) if paper else LiveClock()
        try:
            broker = build_broker(settings, clock, quotes.get)
        except BrokerError as exc:
            await quotes.close()
            raise _fail(str(exc)) from exc
        runtime = LocalRuntime.build(settings, broker)
        sock = _bind(settings.server.host, settings.server.port)
        server = _Server(create_local_app(runtime), sock, "info")
        on_quote = broker.on_quote if isinstance(broker, PaperBroker) else (lambda quote: None)
        poller = asyncio.create_task(quotes.run(on_quote), name="quotes")
        if not await quotes.first_quotes(timeout=15):
            console.print("[yellow]尚未收到云端行情 (no quotes from the cloud yet)[/yellow]")
        console.print(f"本地节点 node: http://{settings.server.host}:{settings.server.port}")
        try:
            await _serve_until_signal([server], [poller])
        finally:
            await quotes.close()

    run_loop(main())


def _shown_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database_url>"


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """把数据库升级到最新结构 (apply Alembic migrations)."""
    settings = _cloud_settings(config)
    _with_session(config, lambda session: asyncio.sleep(0))
    console.print(f"数据库已是最新 (database at head): {_shown_url(settings.database_url)}")


def _with_session(config: Path | None, work: Any) -> Any:
    """Run ``work(session)`` on the upgraded database and commit; database errors exit 2."""
    settings = _cloud_settings(config)

    async def main() -> Any:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            async with db.session() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await db.dispose()

    try:
        return run_loop(main())
    except (ValueError, OSError, SQLAlchemyError) as exc:
        if isinstance(exc, DuplicateName):
            raise
        raise _fail(
            f"数据库错误 (database error) {_shown_url(settings.database_url)}: {exc}"
        ) from exc


@apikey_app.command("add")
def apikey_add(
    name: str,
    scope: Annotated[
        str,
        typer.Option(
            help="权限范围 (scope): read 只读 (viewer), trade 交易 (trader), admin 管理 (admin)"
        ),
    ] = "trade",
    config: ConfigOption = None,
) -> None:
    """新建 API 密钥，只显示一次 (create an API key; shown once)."""
    if scope not in SCOPES:
        raise _fail(f"未知的权限范围 (unknown scope) {scope!r}：可用 (one of) {', '.join(SCOPES)}")
    try:
        key = _with_session(config, lambda s: ApiKeyRepo(s).add(name, scope))
    except DuplicateName as exc:
        raise _fail(f"名称已存在 (name exists): {name}") from exc
    console.print(f"API key [bold]{name}[/bold] scope {scope} (只显示一次 shown once):")
    print(key)


@apikey_app.command("list")
def apikey_list(config: ConfigOption = None) -> None:
    """列出 API 密钥（只显示前缀）(list API keys; prefixes only)."""
    for row in _with_session(config, lambda s: ApiKeyRepo(s).list()):
        state = "revoked" if row["revoked_at"] else "active"
        console.print(
            f"{row['name']:<20} {row['prefix']}…  {row['scope']:<5}  {state}  "
            f"created {row['created_at']}"
        )


@apikey_app.command("revoke")
def apikey_revoke(name: str, config: ConfigOption = None) -> None:
    """吊销 API 密钥 (revoke an API key)."""
    if not _with_session(config, lambda s: ApiKeyRepo(s).revoke(name)):
        raise _fail(f"没有名为 {name} 的有效密钥 (no active key named {name})")
    console.print(f"已吊销 (revoked): {name}")


@node_app.command("add")
def node_add(
    name: str,
    account: Annotated[str, typer.Option(help="该节点交易的账户")] = "paper-1",
    config: ConfigOption = None,
) -> None:
    """新建本地节点令牌，只显示一次 (create a node token; shown once)."""
    try:
        token = _with_session(config, lambda s: NodeTokenRepo(s).add(name, account))
    except DuplicateName as exc:
        raise _fail(f"名称已存在 (name exists): {name}") from exc
    console.print(f"node token [bold]{name}[/bold] for account {account} (只显示一次 shown once):")
    print(token)


@node_app.command("list")
def node_list(config: ConfigOption = None) -> None:
    """列出本地节点令牌 (list node tokens)."""
    for row in _with_session(config, lambda s: NodeTokenRepo(s).list()):
        state = "revoked" if row["revoked_at"] else "active"
        console.print(f"{row['name']:<20} {row['account']:<12} {row['prefix']}…  {state}")


@node_app.command("revoke")
def node_revoke(name: str, config: ConfigOption = None) -> None:
    """吊销本地节点令牌 (revoke a node token)."""
    if not _with_session(config, lambda s: NodeTokenRepo(s).revoke(name)):
        raise _fail(f"没有名为 {name} 的有效令牌 (no active token named {name})")
    console.print(f"已吊销 (revoked): {name}")


@bench_app.command("link")
def bench_link(
    commands: Annotated[int, typer.Option(min=1, help="交易指令数")] = 1000,
    chaos: Annotated[bool, typer.Option(help="随机断线并重启节点")] = False,
    seed: Annotated[int, typer.Option(help="随机种子")] = 1,
    db: Annotated[str | None, typer.Option(help="空数据库 URL（默认临时 SQLite）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
) -> None:
    """云端 API -> 节点 -> 模拟券商 的端到端延迟与恰好一次 (link latency, exactly once)."""
    setup_logging("ERROR")
    with Progress(transient=True, console=console, disable=as_json) as progress:
        task = progress.add_task("link", total=commands)
        result = run_loop(
            link_bench.run(
                commands, chaos=chaos, seed=seed,
                db_url=db,
                progress=lambda done: progress.update(task, completed=done),
            )
        )  # fmt: skip
    if not as_json:
        console.print(
            f"sent {result['sent']} · executed once {result['executed_once']} · "
            f"twice {result['executed_twice']} · lost {result['lost']} · "
            f"p50 {result['p50_ms']} ms · p99 {result['p99_ms']} ms · faults {result['faults']}"
        )
    print(json.dumps(result, ensure_ascii=False))


@bench_app.command("broker")
def bench_broker(
    orders: Annotated[int, typer.Option(min=1, help="委托笔数")] = 100_000,
    symbols: Annotated[int, typer.Option(min=1, help="行情中的证券数")] = 5_500,
    seed: Annotated[int, typer.Option(help="随机种子")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="只输出 JSON")] = False,
) -> None:
    """模拟券商每秒校验并撮合的委托数 (paper broker orders validated and matched per second)."""
    setup_logging("ERROR")
    with Progress(transient=True, console=console, disable=as_json) as progress:
        task = progress.add_task("broker", total=orders)
        result = run_loop(
            broker_bench.run(
                orders, symbols=symbols, seed=seed,
                progress=lambda done: progress.update(task, completed=done),
            )
        )  # fmt: skip
    if not as_json:
        console.print(
            f"{result['orders']} orders on {result['symbols']} symbols · "
            f"{result['orders_per_s']} orders/s ({result['us_per_order']} µs each) · "
            f"fills {result['fills']} · quotes {result['quotes_per_s']}/s"
        )
    print(json.dumps(result, ensure_ascii=False))


# Command groups that live in their own modules register themselves on ``app`` here.
# (Imported last: they import names defined above.)
from . import _groups  # noqa: E402, F401

if __name__ == "__main__":
    app()
