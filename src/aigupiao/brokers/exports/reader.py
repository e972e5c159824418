"""Read the files broker clients export into typed rows.

Handles what real exports do (see ``../shared/data/exports``):

* **Encoding**: UTF-8 with a BOM, UTF-8, or GBK (GB18030 if GBK is not enough).
  Some clients cut security names at a fixed byte width, which can split a
  double-byte character and leave a dangling GBK lead byte (``中证1000ETF易方\\xb4``).
  Such a file is still read: the broken byte becomes U+FFFD (``�``) and a
  :class:`ReadNote` names the line.
* **Delimiter**: TAB or comma, from the header line. A TAB at the end of every
  line (the 同花顺 xiadan habit) is ignored.
* **Cells**: ``="600900"`` is read as ``600900``; codes and order numbers stay
  strings; quantities are ints (``1000.00`` is 1000), prices and amounts Decimal.
* **Columns** are mapped by header name, never by position (see
  :mod:`.fields` for the names each field is read from); columns the reader
  has no field for are kept as text in each row's ``extra``.
* **Kind** comes from the header: a cash movement or balance column makes a
  statement (交割单 / 对账单 / 资金流水); 委托数量 an order list; 股票余额 or
  参考持股 a position list; 成交数量 or 成交编号 a trade list (成交 / 历史成交).

Security codes (the rule, in order):

1. A 港股通 (Hong Kong Stock Connect) security is not an A-share and the row is
   not read: a market column saying HK (``沪HK``), a five-digit code (A-share
   codes have six digits, and a SZ code without its leading zeros has at most
   four), or a non-zero 汇率 (exchange rate) column.
2. Six digits: kept as written.
3. One to four digits: a SZ code written without its leading zeros (``878`` is
   ``000878``), padded to six when the row's market says 深圳 or, without a
   market column, when the shareholder account is a SZ one (all digits; SH
   accounts start with a letter). Otherwise the row is not read: the code is
   ambiguous.

A row that cannot be read (a 港股通 holding, a malformed number, a wrong
number of cells) is never dropped silently: it is returned in
:attr:`ExportFile.problems` with the reason and the line as written.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from aigupiao.domain.symbols import Exchange

from ..vocabulary import UnknownStatus, status_from_label
from .fields import (
    FIELDS,
    CellError,
    Field,
    detect_kind,
    known_headers,
    normalize_header,
    parse_cell,
    unquote,
)
from .formats import ExportKind, side_of

_EXCEL_MAGIC = (b"\xd0\xcf\x11\xe0", b"PK\x03\x04")  # real .xls (OLE2) and .xlsx (zip)
_HEADER_SEARCH_LINES = 20
_CODE_REQUIRED = (ExportKind.POSITIONS, ExportKind.TRADES, ExportKind.ORDERS)


class ExportReadError(Exception):
    """The file as a whole cannot be read (missing, empty, a real Excel workbook, no header)."""

    def __init__(self, message_zh: str, message_en: str, *, code: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh = message_zh
        self.message_en = message_en
        self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message_zh, "message_en": self.message_en}


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that was not read, why, and the line as it is in the file."""

    line: int
    reason_zh: str
    reason_en: str
    raw: str


@dataclass(frozen=True, slots=True)
class ReadNote:
    """Something the reader repaired or skipped that is not a row (e.g. replaced bytes)."""

    line: int | None
    message_zh: str
    message_en: str


@dataclass(slots=True)
class ExportFile:
    """What was read from one export.

    ``rows`` are dicts keyed by the field names of :mod:`.fields` for ``kind``
    (every field present, None when the file has no such column or the cell is
    empty), plus ``line`` (the line number in the file), ``extra`` (unmapped
    columns as text, by header), ``exchange`` (``SH``/``SZ``/``BJ`` when the
    row says or the code rule decides, else None), ``side`` (orders, trades and
    statements) and ``status`` (orders: an :class:`OrderStatus` or None).
    """

    kind: ExportKind
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    fields: dict[str, str]  # field name -> the header it was read from
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[ReadNote] = field(default_factory=list)
    path: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings, dates and times in ISO form."""
        return {
            "path": None if self.path is None else str(self.path),
            "kind": self.kind.value,
            "encoding": self.encoding,
            "delimiter": "tab" if self.delimiter == "\t" else self.delimiter,
            "columns": list(self.columns),
            "fields": dict(self.fields),
            "rows": [_jsonable(row) for row in self.rows],
            "problems": [
                {"line": p.line, "reason": p.reason_zh, "reason_en": p.reason_en, "raw": p.raw}
                for p in self.problems
            ],
            "notes": [
                {"line": n.line, "message": n.message_zh, "message_en": n.message_en}
                for n in self.notes
            ],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def read_export(path: Path) -> ExportFile:
    """Read the export at ``path``.

    Raises:
        ExportReadError: the file is missing or unreadable, empty, a binary Excel
            workbook, or has no header this reader knows.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ExportReadError(
            f"无法读取文件 {path}：{reason}", f"cannot read {path}: {reason}", code="unreadable"
        ) from exc
    return parse_export(data, path=path)


def parse_export(data: bytes, *, path: Path | None = None) -> ExportFile:
    """Read an export from its bytes; ``path`` is only recorded. Raises like :func:`read_export`."""
    if not data.strip():
        raise ExportReadError("文件为空", "the file is empty", code="empty")
    if data.startswith(_EXCEL_MAGIC):
        raise ExportReadError(
            "这是 Excel 工作簿，不是客户端导出的文本；请在客户端重新导出，或在 Excel 中另存为 CSV",
            "this is an Excel workbook, not a client's text export; export again from the "
            "client or save it as CSV in Excel",
            code="excel_workbook",
        )
    text, encoding = _decode(data)
    if not text.strip():
        raise ExportReadError("文件为空", "the file is empty", code="empty")
    physical = [line.removesuffix("\r") for line in text.split("\n")]
    delimiter = _sniff(physical)
    try:
        lines = _lines(text, physical, delimiter)
    except csv.Error as exc:
        raise ExportReadError(
            f"CSV 格式错误：{exc}", f"malformed CSV: {exc}", code="malformed_csv"
        ) from exc

    notes = [
        ReadNote(
            number,
            f"含无法按 {encoding} 解码的字节（多为券商按固定字节宽度截断名称），已替换为 �",
            f"bytes that are not valid {encoding} (usually a name cut at a fixed byte width) "
            "were replaced with U+FFFD",
        )
        for number, line in enumerate(physical, start=1)
        if "\ufffd" in line
    ]
    header_at = _header_index(lines)
    header_line, header_cells, _ = lines[header_at]
    if header_at:
        skipped = header_line - 1
        notes.insert(
            0,
            ReadNote(
                None,
                f"跳过表头之前的 {skipped} 行",
                f"skipped {skipped} line(s) before the header",
            ),
        )
    columns = _trim(header_cells)
    normalized = [normalize_header(c) for c in columns]
    kind = detect_kind(normalized)
    if kind is None:
        raise ExportReadError(
            f"无法识别导出类型（表头：{' '.join(columns)}）",
            f"cannot tell what kind of export this is (header: {' '.join(columns)})",
            code="unknown_kind",
        )
    mapping = _map_columns(FIELDS[kind], normalized)
    result = ExportFile(
        kind=kind,
        encoding=encoding,
        delimiter=delimiter,
        columns=tuple(c.strip() for c in columns),
        fields={f.name: columns[index].strip() for f, index in mapping},
        notes=notes,
        path=path,
    )
    extras = [i for i in range(len(columns)) if i not in {index for _, index in mapping}]
    for number, cells, raw in lines[header_at + 1 :]:
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        row = _read_row(kind, mapping, columns, extras, number, cells, raw)
        if isinstance(row, RowProblem):
            result.problems.append(row)
        else:
            result.rows.append(row)
    return result


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig", errors="replace"), "utf-8-sig"
    for encoding in ("utf-8", "gbk", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    # Neither decodes cleanly: take the one that needs fewer replacements (GBK on a tie).
    gbk = data.decode("gbk", errors="replace")
    utf8 = data.decode("utf-8", errors="replace")
    return (utf8, "utf-8") if utf8.count("\ufffd") < gbk.count("\ufffd") else (gbk, "gbk")


def _sniff(physical: list[str]) -> str:
    """TAB or comma: whichever splits a line of the first ones into the most known headers."""
    known = known_headers()
    candidates = [
        (sum(normalize_header(cell) in known for cell in line.split(delimiter)), delimiter)
        for line in physical[:_HEADER_SEARCH_LINES]
        for delimiter in ("\t", ",")
    ]
    count, delimiter = max(candidates, key=lambda item: item[0])  # the first best: TAB on a tie
    return delimiter if count else "\t"


def _lines(text: str, physical: list[str], delimiter: str) -> list[tuple[int, list[str], str]]:
    """(line number, cells, raw text) for every line; CSV rows may span several lines."""
    if delimiter == "\t":
        return [(n, line.split("\t"), line) for n, line in enumerate(physical, start=1)]
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for cells in reader:
        end = reader.line_num
        rows.append((start, cells, "\n".join(physical[start - 1 : end])))
        start = end + 1
    return rows


def _header_index(lines: list[tuple[int, list[str], str]]) -> int:
    known = known_headers()
    for index, (_, cells, _) in enumerate(lines[:_HEADER_SEARCH_LINES]):
        if sum(normalize_header(c) in known for c in cells) >= 2:
            return index
    raise ExportReadError(
        "找不到表头（前 20 行中没有 证券代码、成交日期 等列名）",
        "no header found (none of the first 20 lines names columns such as 证券代码)",
        code="no_header",
    )


def _trim(cells: list[str]) -> list[str]:
    """Without the empty cells a trailing delimiter leaves."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _map_columns(fields: tuple[Field, ...], headers: list[str]) -> list[tuple[Field, int]]:
    """Each field with the index of the first of its headers the file has."""
    taken: set[int] = set()
    mapping = []
    for spec in fields:
        for name in spec.headers:
            index = next((i for i, h in enumerate(headers) if h == name and i not in taken), None)
            if index is not None:
                taken.add(index)
                mapping.append((spec, index))
                break
    return mapping


def _read_row(
    kind: ExportKind,
    mapping: list[tuple[Field, int]],
    columns: list[str],
    extras: list[int],
    number: int,
    cells: list[str],
    raw: str,
) -> dict[str, Any] | RowProblem:
    width = len(columns)
    while len(cells) > width and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) != width:
        return RowProblem(
            number,
            f"本行有 {len(cells)} 列，表头有 {width} 列",
            f"the line has {len(cells)} cells, the header {width}",
            raw,
        )
    row: dict[str, Any] = {"line": number}
    row.update({spec.name: None for spec in FIELDS[kind]})
    errors: list[CellError] = []
    for spec, index in mapping:
        try:
            row[spec.name] = parse_cell(spec, columns[index].strip(), cells[index])
        except CellError as exc:
            errors.append(exc)
    if not errors:
        try:
            row["code"], row["exchange"] = _resolve_code(kind, row)
        except CellError as exc:
            errors.append(exc)
    if errors:
        return RowProblem(
            number,
            "；".join(e.message_zh for e in errors),
            "; ".join(e.message_en for e in errors),
            raw,
        )
    row["extra"] = {columns[i].strip(): unquote(cells[i]) for i in extras if columns[i].strip()}
    if kind is not ExportKind.POSITIONS:
        row["side"] = side_of(row.get("operation")) or side_of(row.get("business"))
    if kind is ExportKind.ORDERS:
        status = (row["status_text"] or "").replace(" ", "")
        try:
            row["status"] = status_from_label(status) if status else None
        except UnknownStatus:
            row["status"] = None
    return row


def _market_of(text: str | None) -> str | None:
    """``SH``/``SZ``/``BJ``/``HK`` from a market column (上海, 深圳, 沪HK, 深A ...), or None."""
    if not text:
        return None
    upper = text.upper()
    if "HK" in upper or "港" in text:
        return "HK"
    if "上海" in text or "沪" in text or upper.startswith("SH"):
        return Exchange.SH.value
    if "深" in text or upper.startswith("SZ"):
        return Exchange.SZ.value
    if "北京" in text or "北交" in text or upper.startswith("BJ"):
        return Exchange.BJ.value
    return None  # e.g. 前台未知交易所


def _account_market(shareholder: str | None) -> str | None:
    """SH shareholder accounts start with a letter (A123456789); SZ ones are all digits."""
    if not shareholder:
        return None
    if shareholder[0].isascii() and shareholder[0].isalpha():
        return Exchange.SH.value
    if shareholder.isascii() and shareholder.isdigit():
        return Exchange.SZ.value
    return None


def _resolve_code(kind: ExportKind, row: dict[str, Any]) -> tuple[str | None, str | None]:
    """(six-digit code, exchange) by the rule in the module docstring.

    Raises:
        CellError: a 港股通 security, an ambiguous short code, or a missing code
            where the kind needs one.
    """
    code: str | None = row["code"]
    market = _market_of(row["market"])
    exchange = market if market != "HK" else None
    if code is None:
        if kind not in _CODE_REQUIRED:
            return None, exchange
        if kind is ExportKind.TRADES and not row["quantity"]:
            what = row["business"] or row["note"] or row["operation"] or ""
            raise CellError(
                f"没有证券代码的资金或费用行（{what}），不是成交",
                f"a cash or fee line without a security ({what}), not a trade",
            )
        raise CellError("缺少证券代码", "no security code")
    fx_rate = row.get("fx_rate")
    if market == "HK" or len(code) == 5 or (fx_rate is not None and fx_rate != 0):
        if row["market"]:
            where, where_en = f"（{row['market']}）", f" ({row['market']})"
        elif fx_rate:
            where, where_en = f"（汇率 {fx_rate}）", f" (exchange rate {fx_rate})"
        else:
            where = where_en = ""
        raise CellError(
            f"港股通证券 {code}{where}不是 A 股代码，未读取",
            f"{code}{where_en} is a Stock Connect (Hong Kong) security, not an A-share; not read",
        )
    if len(code) == 6:
        return code, exchange
    if len(code) > 6:
        raise CellError(f"证券代码超过6位：{code}", f"security code longer than six digits: {code}")
    account = _account_market(row["shareholder"]) if market is None else None
    if market == Exchange.SZ.value or account == Exchange.SZ.value:
        return code.zfill(6), Exchange.SZ.value
    if account == Exchange.SH.value:
        raise CellError(
            f"证券代码 {code} 不足6位，股东帐户却是沪市的：多为港股通证券，未读取",
            f"security code {code} has fewer than six digits but a SH shareholder account: "
            "most likely a Stock Connect (Hong Kong) security; not read",
        )
    raise CellError(
        f"证券代码 {code} 不足6位，且无法确定是深市代码，未读取",
        f"security code {code} has fewer than six digits and nothing says it is a SZ code; "
        "not read",
    )
