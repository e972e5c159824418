"""The CLI's command groups kept in their own modules, attached to the main app.

Each module defines a ``typer.Typer`` and is added here with one line.
"""

from __future__ import annotations

import typer

from . import app
from .broker_check import broker_check
from .calendar import calendar_app
from .export import export_app
from .reconcile import reconcile

broker_app = typer.Typer(help="券商适配器 (broker adapters)")
broker_app.command("check")(broker_check)
app.add_typer(broker_app, name="broker")
app.add_typer(calendar_app, name="calendar")
app.add_typer(export_app, name="export")
app.command("reconcile")(reconcile)
