"""Exports in the broker clients' own formats, and a reader for real client exports.

:mod:`.writer` writes positions, trades and orders as the 同花顺 xiadan client
saves them (GBK, TAB) and as UTF-8 CSV; :mod:`.reader` reads what real clients
export (持仓, 成交, 委托, 交割单/对账单) into typed rows.
"""

from .formats import ExportKind
from .reader import ExportFile, ExportReadError, ReadNote, RowProblem, parse_export, read_export
from .writer import (
    ExportDirectory,
    ExportFormat,
    NameLookup,
    remove_old_exports,
    render,
    write_exports,
)

__all__ = [
    "ExportDirectory",
    "ExportFile",
    "ExportFormat",
    "ExportKind",
    "ExportReadError",
    "NameLookup",
    "ReadNote",
    "RowProblem",
    "parse_export",
    "read_export",
    "remove_old_exports",
    "render",
    "write_exports",
]
