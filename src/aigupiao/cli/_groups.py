"""The CLI's command groups kept in their own modules, attached to the main app.

Each module defines a ``typer.Typer`` and is added here with one line.
"""

from __future__ import annotations

import typer

from . import app, bench_app
from .backtest import backtest_app
from .backtest_replay import replay
from .bench_agent import register as register_bench_agent
from .bench_backtest import register as register_bench_backtest
from .bench_dashboard import register as register_bench_dashboard
from .bench_feeds import bench_chagubang, bench_pipeline
from .broker_check import broker_check
from .calendar import calendar_app
from .data import data_app
from .export import export_app
from .feed import feed
from .openapi import openapi
from .reconcile import reconcile
from .risk import halt, resume
from .symbols import symbols_app
from .users import user_app

broker_app = typer.Typer(help="券商适配器 (broker adapters)")
broker_app.command("check")(broker_check)
app.add_typer(broker_app, name="broker")
backtest_app.command("replay")(replay)
app.add_typer(backtest_app, name="backtest")
app.add_typer(calendar_app, name="calendar")
app.add_typer(data_app, name="data")
app.add_typer(export_app, name="export")
app.add_typer(symbols_app, name="symbols")
app.add_typer(user_app, name="user")
app.command("reconcile")(reconcile)
app.command("halt")(halt)
app.command("resume")(resume)
app.command("feed")(feed)
app.command("openapi")(openapi)
bench_app.command("chagubang")(bench_chagubang)
bench_app.command("pipeline")(bench_pipeline)
register_bench_agent()
register_bench_backtest()
register_bench_dashboard()
