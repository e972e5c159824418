"""The files of a finished export command, rendered as the node writes them.

A node answers an export command with JSON (the account's positions, today's trades
and orders); it also writes files in the broker clients' formats on its own disk,
which a browser cannot reach. This renders the stored JSON through the same writers
(:mod:`aigupiao.brokers.exports.writer`), so the download is byte for byte the
kind of file the node keeps: 同花顺 GBK TAB text (``.xls``) or UTF-8 CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aigupiao.brokers.exports import ExportFormat, ExportKind
from aigupiao.brokers.exports.formats import FILE_TITLES
from aigupiao.brokers.exports.writer import (
    Table,
    file_name,
    orders_table,
    positions_table,
    render,
    trades_table,
)
from aigupiao.protocol.codec import (
    account_from_payload,
    order_from_payload,
    parse_result,
    position_from_payload,
    trade_from_payload,
)
from aigupiao.protocol.payloads import ExportResult
from aigupiao.store import Database, SymbolRepo

from ..errors import NotFound, ServiceError
from .commands import CommandService
from .market import MarketService

# ``ths`` is the 同花顺 xiadan client's own format (GBK, TAB, saved as .xls).
FORMATS = {"ths": ExportFormat.XIADAN, "csv": ExportFormat.CSV}
MEDIA_TYPES = {
    ExportFormat.XIADAN: "application/vnd.ms-excel",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}
_KINDS_OF = {
    "positions": {ExportKind.POSITIONS},
    "trades": {ExportKind.TRADES},
    "orders": {ExportKind.ORDERS},
    "all": {ExportKind.POSITIONS, ExportKind.TRADES, ExportKind.ORDERS},
}
_FINAL = ("done", "rejected", "failed", "expired", "unknown")


class ExportNotReady(ServiceError):
    """The export command has not been answered yet."""

    status = 409
    code = "not_ready"


class ExportFailed(ServiceError):
    """The export command ended without data (rejected, failed, expired, unknown)."""

    status = 409
    code = "export_failed"


@dataclass(frozen=True)
class ExportDownload:
    """One rendered file: its bytes, the client's file name, and the HTTP headers for it."""

    content: bytes
    filename: str  # the client's, e.g. 持仓数据_0702_165122.xls
    ascii_filename: str  # for clients without RFC 5987, e.g. positions_0702_165122.xls
    media_type: str

    @property
    def content_disposition(self) -> str:
        """``attachment`` with the ASCII name and the Chinese one as RFC 5987 ``filename*``
        (which browsers prefer)."""
        chinese = quote(self.filename, safe="")
        return f"attachment; filename=\"{self.ascii_filename}\"; filename*=UTF-8''{chinese}"


class ExportService:
    def __init__(self, commands: CommandService, market: MarketService, db: Database) -> None:
        self._commands, self._market, self._db = commands, market, db

    async def download(self, command_id: str, kind: str, fmt: str) -> ExportDownload:
        """Render ``kind`` (positions, trades, orders) of export command ``command_id``.

        Raises:
            NotFound: no export command with that id, or it did not export ``kind``.
            ExportNotReady: it has not finished yet.
            ExportFailed: it finished without data.
        """
        export_kind, export_format = ExportKind(kind), FORMATS[fmt]
        command = await self._commands.get(command_id)
        if command is None or command["type"] != "export":
            raise NotFound(f"导出指令 {command_id} 不存在", f"no export command {command_id}")
        status = command["status"]
        if status not in _FINAL:
            raise ExportNotReady(
                f"导出指令 {command_id} 尚未完成（{status}），请稍后再试",
                f"export command {command_id} has not finished yet ({status}); try again shortly",
            )
        result = command.get("result") or {}
        if status != "done":
            reason = result.get("message") or status
            reason_en = result.get("message_en") or status
            raise ExportFailed(
                f"导出指令 {command_id} 未成功：{reason}",
                f"export command {command_id} did not succeed: {reason_en}",
            )
        data_type = str(command["data"].get("data_type", "all"))
        if export_kind not in _KINDS_OF.get(data_type, set()):
            raise NotFound(
                f"导出指令 {command_id} 只导出了 {data_type}，没有{export_kind.label_zh}",
                f"export command {command_id} exported {data_type}, not {kind}",
                code="not_exported",
            )
        names = await self._names(result)
        table = _table(export_kind, result, names.get)
        finished = command.get("finished_at") or command["issued_at"]
        name = file_name(export_kind, export_format, _aware(finished))
        return ExportDownload(
            content=render(table, export_format),
            filename=name,
            ascii_filename=export_kind.value + name.removeprefix(FILE_TITLES[export_kind]),
            media_type=MEDIA_TYPES[export_format],
        )

    async def _names(self, result: dict[str, Any]) -> dict[str, str]:
        """Security names: the live quotes' first, then the symbols table (never guessed)."""
        rows = [row for key in ("positions", "trades", "orders") for row in result.get(key) or ()]
        codes = {str(row["symbol"]) for row in rows}
        latest = self._market.latest
        names = {code: latest[code].name for code in codes if code in latest and latest[code].name}
        missing = codes - names.keys()
        if missing:
            async with self._db.session() as session:
                repo = SymbolRepo(session)
                for code in missing:
                    row = await repo.get(code)
                    if row is not None and row.get("name"):
                        names[code] = str(row["name"])
        return names


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _table(kind: ExportKind, result: dict[str, Any], names: Callable[[str], str | None]) -> Table:
    export = parse_result(result)
    if not isinstance(export, ExportResult):
        raise ExportFailed(
            "导出指令的结果不是导出数据", "the export command's result is not an export"
        )
    if kind is ExportKind.POSITIONS:
        positions = (
            account_from_payload(export.account).positions
            if export.positions is None
            else tuple(position_from_payload(p) for p in export.positions)
        )
        return positions_table(positions, names)
    if kind is ExportKind.TRADES:
        return trades_table([trade_from_payload(t) for t in export.trades or ()], names)
    return orders_table([order_from_payload(o) for o in export.orders or ()], names)
