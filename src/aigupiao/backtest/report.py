"""A backtest's report: JSON, CSV, a self-contained HTML page and a PNG.

* :func:`report_json` - everything as one JSON-able dict (config, metrics, trades, equity,
  benchmark, refusals, corporate actions, warnings): what the API stores and serves;
* :func:`report_html` - one HTML page that works offline: the figures side by side with
  the benchmark, the equity curve, the drawdown and each traded code's price with its
  trades marked, drawn as inline SVG (matplotlib), no script, no external URL;
* :func:`report_png` - the equity curve and drawdown as a PNG (ASCII labels: the PNG is
  drawn with the fonts this machine has, which need not include Chinese ones);
* :func:`save_report` - all of them into a folder: ``report.json``, ``trades.csv``,
  ``equity.csv``, ``report.html``, ``report.png``.

Money stays ``Decimal`` (strings in JSON and CSV); floats are made only to draw.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .metrics import compute_metrics, drawdown_series
from .model import BacktestResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_PRICE_CHARTS = 8  # traded codes drawn with their trades, the most traded first
MAX_TRADE_ROWS = 2000  # rows of the HTML trade table; every trade is in the CSV and JSON
FILES = ("report.json", "trades.csv", "equity.csv", "report.html", "report.png")

BUY_COLOUR = "#d62728"  # red: up and buying, as A-share screens show it
SELL_COLOUR = "#2ca02c"
EQUITY_COLOUR = "#1f77b4"
BENCH_COLOUR = "#7f7f7f"


def _metrics(result: BacktestResult) -> dict[str, Any]:
    return result.metrics or compute_metrics(result)


# -- JSON and CSV ----------------------------------------------------------------------


def report_json(result: BacktestResult) -> dict[str, Any]:
    """The whole report as a JSON-able dict (decimals as strings)."""
    return {
        "config": result.config.model_dump(mode="json"),
        "metrics": _metrics(result),
        "final_equity": str(result.final_equity),
        "bars": result.bars,
        "seconds": round(result.seconds, 3),
        "trades": [trade.as_json() for trade in result.trades],
        "equity": [
            {
                "date": p.date.isoformat(),
                "equity": str(p.equity),
                "cash": str(p.cash),
                "exposure": str(p.exposure),
            }
            for p in result.equity
        ],
        "benchmark": [{"date": d.isoformat(), "value": str(v)} for d, v in result.benchmark],
        "refusals": [
            {
                "date": r.date.isoformat(),
                "code": r.code,
                "side": r.side,
                "rule": r.rule,
                "strategy": r.strategy,
            }
            for r in result.refusals
        ],
        "corporate_actions": [
            {
                "code": a.code,
                "date": a.date.isoformat(),
                "previous_close": str(a.previous_close),
                "open": str(a.open),
                "ratio": str(a.ratio),
                "applied": a.applied,
            }
            for a in result.corporate_actions
        ],
        "warnings": list(result.warnings),
    }


def trades_csv(result: BacktestResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "code", "side", "price", "quantity", "fee", "strategy", "reason"])
    for t in result.trades:
        writer.writerow(
            [t.date.isoformat(), t.code, t.side, t.price, t.quantity, t.fee, t.strategy, t.reason]
        )
    return out.getvalue()


def equity_csv(result: BacktestResult) -> str:
    """One row per close: equity, cash, exposure, drawdown and the benchmark (when given)."""
    bench = dict(result.benchmark)
    drawdowns = drawdown_series([float(p.equity) for p in result.equity])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "equity", "cash", "exposure", "drawdown", "benchmark"])
    for point, drawdown in zip(result.equity, drawdowns, strict=True):
        value = bench.get(point.date)
        writer.writerow(
            [point.date.isoformat(), point.equity, point.cash, point.exposure,
             f"{drawdown:.6f}", "" if value is None else value]
        )  # fmt: skip
    return out.getvalue()


# -- charts ----------------------------------------------------------------------------


_SETUP = threading.Lock()
_READY: list[bool] = []


@contextmanager
def _charting() -> Iterator[None]:
    """matplotlib without pyplot or a display, set up once per process: SVG text stays
    text (the browser's fonts draw it) and SVG ids are stable, so the same result gives
    the same page. (Not ``rc_context``: that swaps the process-wide settings while
    another thread, the API's, may be drawing.)"""
    with _SETUP:
        if not _READY:
            import matplotlib

            matplotlib.rcParams.update(
                {"svg.fonttype": "none", "svg.hashsalt": "aigupiao", "font.size": 9,
                 "axes.grid": True, "grid.alpha": 0.3}
            )  # fmt: skip
            _READY.append(True)
    yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _x(days: Sequence[date]) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    return np.array(days, dtype="datetime64[D]")


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _draw_equity(ax: Axes, result: BacktestResult) -> None:
    days = [p.date for p in result.equity]
    ax.plot(_x(days), [float(p.equity) for p in result.equity], color=EQUITY_COLOUR, label="equity")
    if result.benchmark:
        # scaled to the starting cash, so the two curves start together
        first = float(result.benchmark[0][1]) or 1.0
        scale = float(result.config.cash) / first
        ax.plot(
            _x([d for d, _ in result.benchmark]),
            [float(v) * scale for _, v in result.benchmark],
            color=BENCH_COLOUR, label=f"benchmark ({result.config.benchmark})", linewidth=1,
        )  # fmt: skip
    ax.set_ylabel("equity")
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    _date_axis(ax)
    ax.legend(loc="upper left")


def _draw_drawdown(ax: Axes, result: BacktestResult) -> None:
    days = [p.date for p in result.equity]
    drawdowns = [100 * d for d in drawdown_series([float(p.equity) for p in result.equity])]
    ax.fill_between(_x(days), drawdowns, 0, color=BUY_COLOUR, alpha=0.3, linewidth=0)
    ax.plot(_x(days), drawdowns, color=BUY_COLOUR, linewidth=0.8)
    ax.set_ylabel("drawdown %")
    _date_axis(ax)


def _draw_price(ax: Axes, result: BacktestResult, code: str) -> None:
    closes = result.prices.get(code, [])
    ax.plot(_x([d for d, _ in closes]), [float(c) for _, c in closes], color=EQUITY_COLOUR,
            linewidth=0.9, label=f"{code} close")  # fmt: skip
    for side, marker, colour in (("buy", "^", BUY_COLOUR), ("sell", "v", SELL_COLOUR)):
        fills = [t for t in result.trades if t.code == code and t.side == side]
        if fills:
            ax.scatter(_x([t.date for t in fills]), [float(t.price) for t in fills], marker=marker,
                       color=colour, s=28, zorder=3, label=side)  # fmt: skip
    ax.legend(loc="upper left")
    _date_axis(ax)


def _svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML: no XML prolog, doctype,
    metadata or namespace URLs (nothing that names an address)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)


def _traded_codes(result: BacktestResult) -> list[str]:
    counts = Counter(t.code for t in result.trades)
    return [code for code, _ in counts.most_common() if code in result.prices]


def chart_svgs(result: BacktestResult) -> dict[str, str]:
    """The page's charts as inline SVG: ``equity``, ``drawdown`` and ``price:<code>``."""
    charts: dict[str, str] = {}
    with _charting():
        if result.equity:
            figure = _figure(10, 3.4)
            _draw_equity(figure.add_subplot(), result)
            charts["equity"] = _svg(figure)
            figure = _figure(10, 2.2)
            _draw_drawdown(figure.add_subplot(), result)
            charts["drawdown"] = _svg(figure)
        for code in _traded_codes(result)[:MAX_PRICE_CHARTS]:
            figure = _figure(10, 2.8)
            _draw_price(figure.add_subplot(), result, code)
            charts[f"price:{code}"] = _svg(figure)
    return charts


def report_png(result: BacktestResult) -> bytes:
    """Equity with the benchmark over the drawdown, as PNG bytes (the Agg renderer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with _charting():
        figure = _figure(10, 6)
        canvas = FigureCanvasAgg(figure)
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
        if result.equity:
            _draw_equity(top, result)
            _draw_drawdown(bottom, result)
        names = ", ".join(s.name for s in result.config.strategies)
        figure.suptitle(f"Backtest: {names}")
        buffer = io.BytesIO()
        canvas.print_png(buffer)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


# -- HTML ------------------------------------------------------------------------------

# (key, Chinese label, English label, kind): kind says how to show the value
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("total_return", "总收益率", "total return", "pct"),
    ("annual_return", "年化收益率", "annual return", "pct"),
    ("sharpe", "夏普比率", "Sharpe", "num"),
    ("sortino", "索提诺比率", "Sortino", "num"),
    ("max_drawdown", "最大回撤", "max drawdown", "pct"),
    ("max_drawdown_peak", "回撤峰值日", "drawdown peak", "text"),
    ("max_drawdown_trough", "回撤谷底日", "drawdown trough", "text"),
    ("max_drawdown_recovery", "回撤修复日", "recovered", "text"),
    ("win_rate", "胜率", "win rate", "pct"),
    ("profit_factor", "盈亏比", "profit factor", "num"),
    ("round_trips", "完整交易数", "round trips", "text"),
    ("trades", "成交笔数", "trades", "text"),
    ("turnover", "换手率", "turnover", "num"),
    ("exposure", "平均仓位", "average exposure", "pct"),
    ("fees_paid", "手续费合计", "fees paid", "text"),
    ("initial_cash", "初始资金", "initial cash", "text"),
    ("final_equity", "期末权益", "final equity", "text"),
    ("pnl", "盈亏", "P&L", "text"),
)


def format_value(value: Any, kind: str) -> str:
    """A metric as the page and the CLI show it ("—" when undefined)."""
    if value is None:
        return "—"
    if kind == "pct" and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    if kind == "num" and isinstance(value, int | float):
        return f"{value:.3f}"
    return str(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
margin:1.5rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.chart svg{width:100%;height:auto}.muted{color:#777;font-size:.85rem}
"""


def report_html(result: BacktestResult) -> str:
    """A self-contained HTML page: figures, charts (inline SVG), trades, refusals."""
    metrics = _metrics(result)
    bench = metrics.get("benchmark") or {}
    config = result.config
    names = ", ".join(
        s.name
        + (
            f" {json.dumps(s.model_dump(mode='json')['params'], ensure_ascii=False)}"
            if s.params
            else ""
        )
        for s in config.strategies
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>回测报告 (backtest report): {html.escape(names)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>回测报告 (backtest report): {html.escape(names)}</h1>",
        '<p class="muted">'
        + html.escape(
            f"{metrics.get('start') or '—'} → {metrics.get('end') or '—'} · "
            f"成交模型 (fill) {config.fill.value} · 规则 (rules) {config.rules.value} · "
            f"K线 (bars) {result.bars} · 用时 (seconds) {result.seconds:.2f}"
        )
        + "</p>",
        "<h2>指标 (metrics)</h2>",
    ]
    head = ["指标 (metric)", "策略 (strategy)"]
    if bench:
        head.append(f"基准 (benchmark: {bench.get('name')})")
    rows = []
    for key, zh, en, kind in ROWS:
        row = [f"{zh} ({en})", format_value(metrics.get(key), kind)]
        if bench:
            row.append(format_value(bench.get(key), kind) if key in bench else "")
        rows.append(row)
    parts.append(_table(head, rows))
    parts.append(
        '<p class="muted">年化按每年 242 个交易日，无风险利率 '
        f"{metrics.get('risk_free', 0)} (annualised over 242 trading days; risk-free rate "
        f"{metrics.get('risk_free', 0)}). 胜率与盈亏比按先进先出配对的完整交易 (win rate and "
        "profit factor over FIFO round trips).</p>"
    )
    charts = chart_svgs(result)
    titles = {"equity": "权益曲线 (equity curve)", "drawdown": "回撤 (drawdown)"}
    for key, svg in charts.items():
        title = titles.get(key) or f"价格与成交 (price and trades): {key.split(':', 1)[1]}"
        parts.append(f'<h2>{html.escape(title)}</h2><div class="chart">{svg}</div>')
    traded = _traded_codes(result)
    if len(traded) > MAX_PRICE_CHARTS:
        parts.append(
            f'<p class="muted">另有 {len(traded) - MAX_PRICE_CHARTS} 只股票未画图 '
            f"({len(traded) - MAX_PRICE_CHARTS} more traded codes not drawn).</p>"
        )
    parts.append(f"<h2>成交 (trades): {len(result.trades)}</h2>")
    trade_rows = [
        [t.date.isoformat(), t.code, "买入 (buy)" if t.side == "buy" else "卖出 (sell)",
         t.price, t.quantity, t.fee, t.strategy, t.reason]
        for t in result.trades[:MAX_TRADE_ROWS]
    ]  # fmt: skip
    parts.append(
        _table(
            [
                "日期 (date)",
                "代码 (code)",
                "方向 (side)",
                "价格 (price)",
                "数量 (quantity)",
                "费用 (fee)",
                "策略 (strategy)",
                "原因 (reason)",
            ],
            trade_rows,
        )
    )
    if len(result.trades) > MAX_TRADE_ROWS:
        parts.append(
            f'<p class="muted">仅列前 {MAX_TRADE_ROWS} 笔，全部见 trades.csv '
            f"(first {MAX_TRADE_ROWS} shown; all in trades.csv).</p>"
        )
    if result.refusals:
        by_rule = Counter((r.rule, r.strategy) for r in result.refusals)
        parts.append(f"<h2>被拒信号 (refused signals): {len(result.refusals)}</h2>")
        parts.append(
            _table(
                ["规则 (rule)", "策略 (strategy)", "次数 (count)"],
                [[rule, strategy, n] for (rule, strategy), n in by_rule.most_common()],
            )
        )
    if result.corporate_actions:
        parts.append(
            f"<h2>疑似除权 (suspected corporate actions): {len(result.corporate_actions)}</h2>"
        )
        parts.append(
            _table(
                [
                    "代码 (code)",
                    "日期 (date)",
                    "前收 (previous close)",
                    "开盘 (open)",
                    "比例 (ratio)",
                    "已调整持仓 (position adjusted)",
                ],
                [
                    [
                        a.code,
                        a.date.isoformat(),
                        a.previous_close,
                        a.open,
                        a.ratio,
                        "是 (yes)" if a.applied else "否 (no)",
                    ]
                    for a in result.corporate_actions
                ],
            )
        )
    if result.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings)
        parts.append(f"<h2>提示 (warnings)</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


# -- files -----------------------------------------------------------------------------


def save_report(result: BacktestResult, folder: Path) -> list[Path]:
    """Write :data:`FILES` into ``folder`` (created if missing); returns their paths."""
    if not result.metrics:
        result.metrics = compute_metrics(result)
    folder.mkdir(parents=True, exist_ok=True)
    contents: dict[str, str | bytes] = {
        "report.json": json.dumps(report_json(result), ensure_ascii=False, indent=1),
        "trades.csv": trades_csv(result),
        "equity.csv": equity_csv(result),
        "report.html": report_html(result),
        "report.png": report_png(result),
    }
    paths = []
    for name, content in contents.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths
