"""Write positions, trades and orders the way the broker clients export them.

Two formats, same Chinese headers (the 同花顺 xiadan client's own names):

* ``xiadan``: what the 同花顺 xiadan client saves with Ctrl+S — GBK text,
  TAB-separated, every line ending with a TAB, LF between lines and no newline
  after the last one, codes and order numbers written as ``="600900"`` so
  Excel keeps their leading zeros. Saved as ``.xls`` like the client does
  (Excel opens it with a format warning).
* ``csv``: UTF-8 with a BOM (so Excel detects the encoding), comma-separated,
  CRLF, the same ``="600900"`` cells.

File names follow the client: ``持仓数据_MMDD_HHMMSS.xls``, ``成交数据_…``,
``委托数据_…`` in Beijing time (``.csv`` for the UTF-8 twin); a name already
taken gets ``_2``, ``_3``, ... (The one real 委托 sample lost its name's prefix,
``-0623-204232..xls``; 委托数据 follows the other two.) The client itself also
writes its GBK text under ``.csv``; here ``.xls`` is the GBK file so the two
formats never share a name. Files are written to a temporary name and
renamed, so a reader never sees half a file.

Characters GBK cannot encode (some rare names, emoji) are written as ``?`` in
the xiadan file rather than failing the export; the UTF-8 file keeps them.
TABs and line breaks inside a value are written as spaces, because they would
split the row.

Security names are not part of the domain objects: the caller passes a lookup
``names(symbol.full) -> name | None`` (``symbol.full`` is e.g. ``sh600900``);
an unknown name is left empty, never guessed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path

from aigupiao.domain.account import Position
from aigupiao.domain.orders import Order, OrderStatus, Trade
from aigupiao.domain.sessions import BEIJING

from .formats import (
    EXPORT_FILE_RE,
    FILE_TITLES,
    MARKET_TEXT,
    ORDER_TYPE_TEXT,
    SIDE_TEXT,
    ExportKind,
    status_text,
)

log = logging.getLogger(__name__)

NameLookup = Callable[[str], "str | None"]

POSITION_COLUMNS = (
    "证券代码", "证券名称", "股票余额", "可用余额", "盈亏", "成本价", "盈亏比例(%)",
    "市价", "市值", "成本金额", "交易市场",
)  # fmt: skip
TRADE_COLUMNS = (
    "成交日期", "成交时间", "证券代码", "证券名称", "操作", "成交数量", "成交均价", "成交金额",
    "佣金", "印花税", "过户费", "合同编号", "成交编号", "交易市场",
)  # fmt: skip
ORDER_COLUMNS = (
    "委托日期", "委托时间", "证券代码", "证券名称", "操作", "备注", "委托数量", "成交数量",
    "委托价格", "成交均价", "撤消数量", "合同编号", "订单类型", "交易市场",
)  # fmt: skip

_PCT_STEP = Decimal("0.001")
_AVERAGE_STEP = Decimal("0.001")


class ExportFormat(StrEnum):
    XIADAN = "xiadan"  # GBK, TAB, .xls
    CSV = "csv"  # UTF-8 with BOM, comma, .csv

    @property
    def suffix(self) -> str:
        return ".xls" if self is ExportFormat.XIADAN else ".csv"


@dataclass(frozen=True, slots=True)
class Table:
    """One export as cells of text, ready for either format."""

    kind: ExportKind
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _no_names(_: str) -> str | None:
    return None


def _quoted(value: str) -> str:
    """The client's way of keeping ``000001`` from becoming the number 1 in Excel."""
    return f'="{value}"'


def _number(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _average(price: Decimal | None) -> Decimal | None:
    """An average of several fills to the 0.001 the clients show (10.333..., not 28 digits)."""
    if price is None or price == price.quantize(_AVERAGE_STEP):
        return price
    return price.quantize(_AVERAGE_STEP, rounding=ROUND_HALF_UP)


def _beijing(moment: datetime) -> datetime:
    return moment.astimezone(BEIJING) if moment.tzinfo else moment


def _name(names: NameLookup, full: str) -> str:
    return names(full) or ""


def positions_table(positions: Iterable[Position], names: NameLookup = _no_names) -> Table:
    """持仓. Without a last price, 市价/市值/盈亏/盈亏比例 are left empty.

    冻结数量 is not written: a :class:`Position` does not tell shares frozen by
    open sell orders apart from shares bought today (T+1).
    """
    rows = []
    for position in positions:
        last = position.last_price
        cost_amount = position.cost_price * position.total
        pnl = pct = value = None
        if last is not None:
            value = last * position.total
            pnl = position.unrealized_pnl
            if position.cost_price:
                pct = ((last - position.cost_price) / position.cost_price * 100).quantize(
                    _PCT_STEP, rounding=ROUND_HALF_UP
                )
        rows.append(
            (
                _quoted(position.symbol.code),
                _name(names, position.symbol.full),
                _number(position.total),
                _number(position.available),
                _number(pnl),
                _number(position.cost_price),
                _number(pct),
                _number(last),
                _number(value),
                _number(cost_amount),
                MARKET_TEXT[position.symbol.exchange],
            )
        )
    return Table(ExportKind.POSITIONS, POSITION_COLUMNS, tuple(rows))


def trades_table(trades: Iterable[Trade], names: NameLookup = _no_names) -> Table:
    """成交, with the date (the client's 当日成交 has only the time) and the fees.

    Times are written to the second, in Beijing time; 合同编号 is the order id.
    """
    rows = []
    for trade in trades:
        ts = _beijing(trade.ts)
        rows.append(
            (
                f"{ts:%Y%m%d}",
                f"{ts:%H:%M:%S}",
                _quoted(trade.symbol.code),
                _name(names, trade.symbol.full),
                SIDE_TEXT[trade.side],
                _number(trade.quantity),
                _number(trade.price),
                _number(trade.amount),
                _number(trade.fees.commission),
                _number(trade.fees.stamp_duty),
                _number(trade.fees.transfer_fee),
                _quoted(trade.order_id),
                _quoted(trade.id),
                MARKET_TEXT[trade.symbol.exchange],
            )
        )
    return Table(ExportKind.TRADES, TRADE_COLUMNS, tuple(rows))


def orders_table(orders: Iterable[Order], names: NameLookup = _no_names) -> Table:
    """委托. 备注 is the status in the client's words (已报, 部成, 已成, 已撤, 部撤, 废单 ...).

    委托价格 is empty for a market order, 成交均价 until something fills (an average
    of several fills is rounded half up to 0.001, as the clients show it); 撤消数量
    is what a cancel or expiry took off the order; 合同编号 is the order id, the
    same number the trades export names.
    """
    rows = []
    for order in orders:
        created = _beijing(order.created_at)
        ended = order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
        rows.append(
            (
                f"{created:%Y%m%d}",
                f"{created:%H:%M:%S}",
                _quoted(order.symbol.code),
                _name(names, order.symbol.full),
                SIDE_TEXT[order.side],
                status_text(order),
                _number(order.quantity),
                _number(order.filled_quantity),
                _number(order.price),
                _number(_average(order.average_price)),
                _number(order.remaining_quantity if ended else 0),
                _quoted(order.id),
                ORDER_TYPE_TEXT[order.type.value],
                MARKET_TEXT[order.symbol.exchange],
            )
        )
    return Table(ExportKind.ORDERS, ORDER_COLUMNS, tuple(rows))


def _clean(cell: str) -> str:
    return cell.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def render(table: Table, fmt: ExportFormat) -> bytes:
    """The bytes of ``table`` in ``fmt`` (see the module docstring)."""
    lines = [table.columns, *table.rows]
    if fmt is ExportFormat.XIADAN:
        text = "\n".join("".join(_clean(cell) + "\t" for cell in line) for line in lines)
        return text.encode("gbk", errors="replace")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[_clean(cell) for cell in line] for line in lines])
    return buffer.getvalue().encode("utf-8-sig")


def file_name(kind: ExportKind, fmt: ExportFormat, now: datetime) -> str:
    """The client's name for an export made at ``now``, e.g. ``持仓数据_0702_165122.xls``."""
    return f"{FILE_TITLES[kind]}_{_beijing(now):%m%d_%H%M%S}{fmt.suffix}"


def _free_path(directory: Path, name: str) -> Path:
    path = directory / name
    stem, suffix = path.stem, path.suffix
    counter = 1
    while path.exists():
        counter += 1
        path = directory / f"{stem}_{counter}{suffix}"
    return path


def write_table(directory: Path, table: Table, fmt: ExportFormat, now: datetime) -> Path:
    """Write ``table`` into ``directory`` (created if missing); returns the file's path.

    Raises:
        OSError: the directory or the file cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = _free_path(directory, file_name(table.kind, fmt, now))
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_bytes(render(table, fmt))
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return path


def write_exports(
    directory: Path,
    *,
    now: datetime,
    positions: Sequence[Position] | None = None,
    trades: Sequence[Trade] | None = None,
    orders: Sequence[Order] | None = None,
    names: NameLookup = _no_names,
    formats: Sequence[ExportFormat] = (ExportFormat.XIADAN, ExportFormat.CSV),
) -> list[Path]:
    """Write each given list (None = not asked for; empty = a header-only file) in each format.

    Returns the paths written, positions first, then trades, then orders.

    Raises:
        OSError: a file cannot be written (the ones already written stay).
    """
    tables = []
    if positions is not None:
        tables.append(positions_table(positions, names))
    if trades is not None:
        tables.append(trades_table(trades, names))
    if orders is not None:
        tables.append(orders_table(orders, names))
    return [write_table(directory, table, fmt, now) for table in tables for fmt in formats]


def remove_old_exports(directory: Path, *, older_than: timedelta, now: datetime) -> list[Path]:
    """Delete export files in ``directory`` last modified more than ``older_than`` before ``now``.

    Only files named like an export (``持仓数据_0702_165122.xls`` ...) are touched,
    so pointing the export directory at a folder with other files is safe.
    Returns the paths deleted; a missing directory deletes nothing.
    """
    if not directory.is_dir():
        return []
    cutoff = (now - older_than).timestamp()
    removed = []
    for path in directory.iterdir():
        if not EXPORT_FILE_RE.match(path.name) or not path.is_file():
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # removed meanwhile
        except OSError as exc:  # one stuck file must not stop the export or the others
            log.warning("could not delete old export %s: %s", path, exc)
    return removed


@dataclass(frozen=True, slots=True)
class ExportDirectory:
    """Where a node keeps its export files, and for how long."""

    path: Path
    keep: timedelta

    def write(
        self,
        *,
        now: datetime,
        positions: Sequence[Position] | None = None,
        trades: Sequence[Trade] | None = None,
        orders: Sequence[Order] | None = None,
        names: NameLookup = _no_names,
    ) -> list[Path]:
        """Write the exports in both formats, then delete the expired ones.

        Raises:
            OSError: a file cannot be written.
        """
        written = write_exports(
            self.path, now=now, positions=positions, trades=trades, orders=orders, names=names
        )
        self.cleanup(now)
        return written

    def cleanup(self, now: datetime) -> list[Path]:
        """Delete the export files older than ``keep``; returns their paths."""
        return remove_old_exports(self.path, older_than=self.keep, now=now)
