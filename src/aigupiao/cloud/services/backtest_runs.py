"""One backtest run's work for :class:`~.backtests.BacktestService`: the engine, the
metrics and the report in a worker thread, and the database's daily bars as a market.

The engine, metrics and report modules are imported when a run starts, so a cloud that
never backtests does not load them (numpy, matplotlib).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from aigupiao.backtest.model import BacktestConfig
from aigupiao.store import Database

if TYPE_CHECKING:
    from aigupiao.backtest.data import MarketData

PRICE_CHARTS = 5  # codes whose closes the report carries for "trades on price"


def problem(code: str, zh: str, en: str) -> dict[str, str]:
    """A reason as the API shows it: code, Chinese and English message."""
    return {"code": code, "message": zh, "message_en": en}


class Run:
    """A run the service knows: its cancel event, who cancelled it, and the engine's
    latest progress (written by the engine's thread, read by the event loop)."""

    __slots__ = ("cancel", "done", "reason", "shutdown", "total")

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.reason = problem("cancelled", "已取消", "cancelled")
        self.shutdown = False  # cancelled because the cloud stops, not by a person
        self.done = self.total = 0

    def progress(self, done: int, total: int) -> None:  # the engine's thread: cheap
        self.done, self.total = done, total


def run_report(
    config: BacktestConfig, run: Run, data: MarketData | None
) -> tuple[dict[str, Any], str]:
    """The engine, the metrics and the report of one run (in a worker thread): the
    report's JSON with the closes of the most traded codes (``prices``) and its HTML."""
    from aigupiao.backtest.engine import run_backtest
    from aigupiao.backtest.metrics import compute_metrics
    from aigupiao.backtest.report import report_html, report_json

    result = run_backtest(config, progress=run.progress, cancel=run.cancel, data=data)
    result.metrics = compute_metrics(result)
    report = report_json(result)
    traded = Counter(trade.code for trade in result.trades)
    codes = [code for code, _ in traded.most_common() if code in result.prices][:PRICE_CHARTS]
    if not codes and result.prices:
        codes = sorted(result.prices)[:1]
    report["prices"] = {
        code: [{"date": day.isoformat(), "close": str(close)} for day, close in result.prices[code]]
        for code in codes
    }
    return report, report_html(result)


async def database_market(db: Database, config: BacktestConfig) -> MarketData:
    """The database's daily bars (``aigupiao data import``) from the config's start, as
    the engine's market; the engine then selects the config's codes and range.

    Raises:
        BacktestInputError: the database holds no daily bars.
    """
    from aigupiao.backtest.data import load_database_bars

    since = datetime.combine(config.start or date(1990, 1, 1), datetime.min.time(), UTC)
    async with db.session() as session:
        return await load_database_bars(session, since=since)
