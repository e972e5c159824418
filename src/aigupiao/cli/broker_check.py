"""Broker self-check: attach to the configured broker and read it, placing nothing.

Run it after installing aigupiao on the trading PC and after every client update
(a moved control shows up here, not in the middle of an order)::

    aigupiao broker check --config local_config.json

Exit code 0 when every read worked, 1 when one failed, 2 for a configuration error.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from aigupiao.brokers.base import Broker, BrokerError
from aigupiao.core.clock import LiveClock
from aigupiao.core.config import ConfigError
from aigupiao.core.lifecycle import run as run_loop
from aigupiao.core.logging import setup_logging
from aigupiao.local.settings import LocalSettings

from .brokers import UnknownBroker, build_broker

console = Console(soft_wrap=True)
check_app = typer.Typer(add_completion=False)


@check_app.command()
def broker_check(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="JSON 配置文件")] = None,
) -> None:
    """券商自检：连接客户端并读取资金、持仓、当日委托与成交，不下单。

    Broker self-check: attach to the client and read the account, positions and today's
    orders and fills. Nothing is placed. Run it after installing or updating a client.
    """
    try:
        settings = LocalSettings.load(config)
        broker = build_broker(settings, LiveClock(), lambda code: None)
    except (ConfigError, UnknownBroker, BrokerError) as exc:
        console.print(f"[red]错误 (error):[/red] {escape(str(exc))}")
        raise typer.Exit(code=2) from exc
    setup_logging(settings.log_level)
    if not run_loop(_check(broker)):
        raise typer.Exit(code=1)


async def _check(broker: Broker) -> bool:
    console.print(f"券商 broker: {broker.name}, 账户 account: {broker.account_id}")
    ok = True

    async def step(
        label: str, read: Callable[[], Awaitable[Any]], show: Callable[[Any], str]
    ) -> None:
        nonlocal ok
        started = time.perf_counter()
        try:
            value = await read()
        except BrokerError as exc:
            ok = False
            console.print(f"[red]✗[/red] {label}: {escape(str(exc))}")
            return
        console.print(
            f"[green]✓[/green] {label} ({time.perf_counter() - started:.1f} s): {show(value)}"
        )

    try:
        await step(
            "资金与持仓 account",
            broker.get_account,
            lambda a: f"cash {a.cash}, frozen {a.frozen_cash}, positions {len(a.positions)}",
        )
        await step("当日委托 orders", broker.get_orders, lambda orders: f"{len(orders)}")
        await step("当日成交 fills", broker.get_trades, lambda trades: f"{len(trades)}")
    finally:
        await broker.close()
    console.print(
        "自检通过 (self-check passed)" if ok else "[red]自检失败 (self-check failed)[/red]"
    )
    return ok


if __name__ == "__main__":
    check_app()
