"""``aigupiao feed NAME``: run one quote feed alone and show what it delivers.

For checking a feed before the cloud uses it: a token, a firewall, the hours the vendor
sends. With ``--print`` every normalised quote is one JSON line on stdout (the shape of
``GET /api/quotes``, Decimals as strings, plus ``"type": "quote"`` or ``"index"``);
without it, a status line every few seconds on stderr and a JSON summary at the end.

Exit codes: 0 when ``--count`` / ``--seconds`` is reached, the feed ends, or on Ctrl-C;
2 when the feed cannot run (bad token, host unreachable, nothing received for ``--idle``
seconds, invalid options).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from aigupiao.cloud.settings import CloudSettings, MarketSection
from aigupiao.core.clock import Clock, LiveClock, TradingDayClock
from aigupiao.core.config import ConfigError
from aigupiao.core.lifecycle import run as run_loop
from aigupiao.core.logging import setup_logging
from aigupiao.domain.market import Quote
from aigupiao.domain.sessions import Phase, phase_at
from aigupiao.market.feeds.base import Feed, FeedError
from aigupiao.market.quote_json import quote_to_dict

from .calendar import use_calendar_update
from .feeds import FEEDS, build_feed, chagubang_feed, universe_for

console = Console(stderr=True, soft_wrap=True, highlight=False)

STATUS_EVERY = 5.0  # seconds between status lines without --print
CHECK_EVERY = 0.1
CLOSED_PHASES = frozenset({Phase.CLOSED, Phase.LUNCH})


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]错误 (error):[/red] {escape(message)}")
    return typer.Exit(code=2)


def feed(
    name: Annotated[str, typer.Argument(help=f"行情源 (feed): {', '.join(FEEDS)}")],
    print_quotes: Annotated[
        bool, typer.Option("--print", help="每条行情输出一行 JSON (one JSON line per quote)")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="云端 JSON 配置文件 (cloud config)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="chagubang: 服务器 (host)")] = None,
    port: Annotated[int | None, typer.Option(help="chagubang: 端口 (port)")] = None,
    token: Annotated[
        str | None, typer.Option(help="chagubang: 令牌 (token; 或 market.chagubang.token)")
    ] = None,
    codes: Annotated[
        str | None, typer.Option(help="tencent/sina: 逗号分隔的代码 (comma-separated codes)")
    ] = None,
    interval: Annotated[
        float | None, typer.Option(help="tencent/sina/sim: 轮询间隔秒 (seconds between rounds)")
    ] = None,
    path: Annotated[Path | None, typer.Option(help="replay: 文件或目录 (file or folder)")] = None,
    speed: Annotated[
        float | None, typer.Option(help="replay/sim: 倍速 (market seconds per real second)")
    ] = None,
    symbols: Annotated[int | None, typer.Option(help="sim: 股票数 (number of symbols)")] = None,
    seed: Annotated[int | None, typer.Option(help="sim: 随机种子 (seed)")] = None,
    count: Annotated[
        int | None, typer.Option(min=1, help="输出 N 行后停止 (stop after N lines)")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(min=0.0, help="运行 S 秒后停止 (stop after S seconds)")
    ] = None,
    idle: Annotated[
        float,
        typer.Option(min=0.0, help="S 秒没有行情则报错退出，0 不限 (fail after S quiet seconds)"),
    ] = 30.0,
    log_level: Annotated[str, typer.Option(help="日志级别 (log level)")] = "WARNING",
) -> None:
    """运行单个行情源并输出标准化行情 (run one quote feed and show its quotes)."""
    if name not in FEEDS:
        raise _fail(f"未知的行情源 {name!r}，可选 {', '.join(FEEDS)} (unknown feed)")
    setup_logging(log_level)
    try:
        settings = CloudSettings.load(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    use_calendar_update(settings.var_dir / "calendar.json")
    options = {
        "host": host, "port": port, "token": token, "codes": codes, "interval": interval,
        "path": path, "speed": speed, "symbols": symbols, "seed": seed,
    }  # fmt: skip
    market = _market_section(settings.market, name, options)
    show = _Printer(print_quotes, count)
    try:
        built = _build(market, show.indexes)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    error: FeedError | None = None
    try:
        outcome = run_loop(_watch(built, show, seconds=seconds, idle=idle))
    except KeyboardInterrupt:  # before the loop's own handler was installed
        outcome = "interrupted"
    except FeedError as exc:
        outcome, error = "failed", exc
    show.summary(built, outcome)
    _exit_for(outcome, error, built, idle)


def _market_section(base: MarketSection, name: str, options: dict[str, Any]) -> MarketSection:
    """``base`` (config file and environment) with ``name`` chosen and the options applied."""
    data = base.model_dump()
    data["feed"] = name
    chagubang, replay = data["chagubang"], data["replay"]
    for key in ("host", "port", "token"):
        if options[key] is not None:
            chagubang[key] = options[key]
    if options["path"] is not None:
        replay["path"] = options["path"]
    if options["speed"] is not None:
        replay["speed"] = data["sim_speed"] = options["speed"]
    for poller in ("tencent", "sina"):
        if options["codes"] is not None:
            data[poller]["codes"] = [code for code in options["codes"].split(",") if code.strip()]
        if options["interval"] is not None:
            data[poller]["interval"] = options["interval"]
    if options["interval"] is not None:
        data["sim_interval"] = options["interval"]
    if options["symbols"] is not None:
        data["symbols"] = options["symbols"]
    if options["seed"] is not None:
        data["sim_seed"] = options["seed"]
    try:
        return MarketSection.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise _fail(f"选项无效 (invalid option): {problems}") from exc


def _build(market: MarketSection, on_index: Callable[[list[Quote]], None]) -> Feed:
    """The feed, through the constructors ``build_feed`` uses."""
    clock: Clock = LiveClock()
    if market.feed == "chagubang":
        return chagubang_feed(market.chagubang, clock=clock, on_index=on_index)
    if market.feed == "sim":
        clock = TradingDayClock.starting_today(speed=market.sim_speed)
    return build_feed(market, clock=clock, universe=universe_for(market))


class _Printer:
    """Writes quotes as JSON lines (with ``--print``) and counts what went by."""

    def __init__(self, enabled: bool, limit: int | None) -> None:
        self.enabled, self.limit = enabled, limit
        self.quotes = self.index_quotes = self.lines = 0
        self.last_seen = time.monotonic()
        self.done = asyncio.Event()  # --count reached, or stdout closed

    def quotes_in(self, quotes: list[Quote]) -> None:
        self.quotes += len(quotes)
        self._emit(quotes, "quote")

    def indexes(self, quotes: list[Quote]) -> None:
        self.index_quotes += len(quotes)
        self._emit(quotes, "index")

    def _emit(self, quotes: list[Quote], kind: str) -> None:
        self.last_seen = time.monotonic()
        if self.done.is_set():
            return
        if self.limit is not None:
            quotes = quotes[: self.limit - self.lines]
        self.lines += len(quotes)
        if self.enabled and quotes:
            text = "".join(
                json.dumps({"type": kind, **quote_to_dict(quote)}, ensure_ascii=False) + "\n"
                for quote in quotes
            )
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except BrokenPipeError:  # `aigupiao feed ... --print | head`: stop quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                self.done.set()
        if self.limit is not None and self.lines >= self.limit:
            self.done.set()

    def status(self, feed: Feed, elapsed: float) -> None:
        stats = feed.stats
        console.print(
            f"[dim]{elapsed:5.0f}s[/dim] 行情 quotes {self.quotes} · 指数 indexes "
            f"{self.index_quotes} · 拒收 refused {sum(stats.refused.values())} · "
            f"重连 reconnects {stats.reconnects}"
        )

    def summary(self, feed: Feed, outcome: str) -> None:
        if self.enabled:
            return
        stats = feed.stats
        result = {
            "feed": feed.name,
            "outcome": outcome,
            "quotes": self.quotes,
            "indexes": self.index_quotes,
            "refused": dict(stats.refused),
            "reconnects": stats.reconnects,
        }
        with contextlib.suppress(BrokenPipeError):
            print(json.dumps(result, ensure_ascii=False), flush=True)


async def _watch(feed: Feed, show: _Printer, *, seconds: float | None, idle: float) -> str:
    """Run ``feed`` until something ends it; what did: ``count``, ``seconds``, ``idle``,
    ``unreachable``, ``interrupted`` or ``ended``.

    Raises:
        FeedError: the feed cannot go on (a bad token).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    outcome = ""

    def interrupted() -> None:
        nonlocal outcome
        outcome = outcome or "interrupted"
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
            loop.add_signal_handler(sig, interrupted)
    started = show.last_seen = time.monotonic()
    next_status = started + STATUS_EVERY
    task = asyncio.create_task(feed.run(show.quotes_in, stop), name=f"feed/{feed.name}")
    while not task.done() and not stop.is_set():
        await asyncio.wait([task], timeout=CHECK_EVERY)
        now = time.monotonic()
        if show.done.is_set():
            outcome = outcome or "count"
        elif seconds is not None and now - started >= seconds:
            outcome = outcome or "seconds"
        elif idle and now - show.last_seen >= idle:
            outcome = outcome or "idle"
        elif _unreachable(feed):
            outcome = outcome or "unreachable"
        elif not show.enabled and now >= next_status:
            show.status(feed, now - started)
            next_status = now + STATUS_EVERY
        if outcome:
            stop.set()
    stop.set()
    try:
        await asyncio.wait_for(task, 10.0)
    except TimeoutError:
        console.print("[yellow]行情源未能及时停止 (the feed did not stop in time)[/yellow]")
    return outcome or "ended"


def _unreachable(feed: Feed) -> bool:
    """A connection-based feed whose first connection attempt failed (wrong host, firewall)."""
    wire = getattr(feed, "wire", None)
    return bool(getattr(wire, "connect_failures", 0)) and not getattr(wire, "connects", 0)


def _exit_for(outcome: str, error: FeedError | None, feed: Feed, idle: float) -> None:
    if outcome in ("count", "seconds", "interrupted", "ended"):
        return
    address = getattr(feed, "address", feed.name)
    if error is not None:
        if error.code == "auth_failed":
            raise _fail(
                f"令牌无效或已过期：{address} 回复 Token鉴权失败；请检查 market.chagubang.token"
                f" (token invalid or expired: {address} answered Token鉴权失败)"
            )
        raise _fail(f"{error.message_zh} ({error.message_en})")
    if outcome == "unreachable":
        reason = getattr(feed, "last_error", None) or ""
        if "refused" in reason:
            zh, en = "连接被拒绝", "connection refused"
        elif "timed out" in reason or "no answer" in reason:
            zh, en = "连接超时", "connection timed out"
        else:
            zh, en = "无法连接", reason or "cannot connect"
        raise _fail(
            f"无法连接 {address}：{zh}；请检查地址、端口和防火墙 (cannot reach {address}: {en};"
            f" check the host, the port and the firewall)"
        )
    # idle
    closed = phase_at(LiveClock().now()) in CLOSED_PHASES
    when = (
        "当前非交易时段 (9:15-11:30, 13:00-15:00 北京时间)，行情源此时通常不推送"
        " (the market is closed now; feeds are usually silent)"
        if closed
        else "当前是交易时段，请检查令牌、网络与行情源状态 (the market is open: check the token,"
        " the network and the source)"
    )
    last_error = getattr(feed, "last_error", None)
    extra = f"；最近的错误 (last error): {last_error}" if last_error else ""
    raise _fail(f"{idle:g} 秒内没有收到任何行情 (no quotes for {idle:g}s)。{when}{extra}")
