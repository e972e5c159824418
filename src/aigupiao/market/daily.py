"""Daily OHLCV files in the common A-share layouts, normalised to shares and CNY.

The layout is recognised from the header; columns are found by name, so their order
does not matter (``../shared/data/README.md`` section 1 describes the real files):

============  ==========================================================  ======  ============
layout        header (any column order, extra columns ignored)            volume  amount
============  ==========================================================  ======  ============
``plain``     ``date,open,high,low,close,volume[,amount]`` (1a; 1c has    shares  CNY (1a has
              close before low and descending dates)                              none: 0)
``tushare``   ``,ts_code,trade_date,...,vol,amount`` (1b, tushare pro);   lots    thousand CNY
              also ``code,date,close,open,high,low,volume,amount`` (the
              index file in 1b, tushare ``index_daily`` renamed)
``akshare``   Chinese headers: ``日期``/``datetime``, ``股票代码``,          lots    CNY
              ``开盘``/``open`` ... ``成交量``/``volume``, ``成交额`` (1d,
              akshare ``stock_zh_a_hist``)
============  ==========================================================  ======  ============

Dates may be ``YYYY-MM-DD``, ``YYYYMMDD`` or ``YYYY/MM/DD`` (a time after the date is
ignored). The symbol comes from a code column (``ts_code``, ``code``, ``股票代码``) when
there is one, else from the file name (``consumer_600519.csv``, ``000019.SZ.csv``,
``600519_daily.csv``). A daily bar is labelled by its end, 15:00 Beijing time.

A row that cannot be used is reported as a :class:`BadRow` with the reason and never
stops the file: a wrong number of fields, an empty or non-numeric value, a price that
is not positive, ``low``/``high`` that do not bracket ``open`` and ``close``, a negative
volume or amount, a bad code, a date already seen for the symbol (the first one is kept).

Usage (a replay feed can use the same functions)::

    for path in daily_files(Path("../shared/data/daily/hzjsw_stock-backtest/data")):
        result = read_daily(path)          # DailyFile: layout, bars (oldest first), bad rows
        ...

``parse_daily(header, rows, ...)`` does the same for rows already in memory (akshare).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Bar
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol

FREQ = "1d"
CLOSE_TIME = time(15, 0)
FILE_SUFFIXES = (".csv", ".txt")


class DailyLayout(StrEnum):
    PLAIN = "plain"
    TUSHARE = "tushare"
    AKSHARE = "akshare"


# (volume multiplier to shares, amount multiplier to CNY)
UNITS: dict[DailyLayout, tuple[Decimal, Decimal]] = {
    DailyLayout.PLAIN: (Decimal(1), Decimal(1)),
    DailyLayout.TUSHARE: (Decimal(100), Decimal(1000)),
    DailyLayout.AKSHARE: (Decimal(100), Decimal(1)),
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "trade_date", "datetime", "日期", "交易日期"),
    "open": ("open", "开盘", "开盘价"),
    "high": ("high", "最高", "最高价"),
    "low": ("low", "最低", "最低价"),
    "close": ("close", "收盘", "收盘价"),
    "volume": ("volume", "vol", "成交量"),
    "amount": ("amount", "成交额"),
    "code": ("ts_code", "code", "股票代码", "代码", "symbol"),
}
_REQUIRED = ("date", "open", "high", "low", "close", "volume")
_TUSHARE_INDEX_HEADER = ["code", "date", "close", "open", "high", "low", "volume", "amount"]
_CHINESE_MARKERS = frozenset({"股票代码", "日期", "开盘", "收盘", "成交量", "成交额"})
_CODE_IN_NAME = re.compile(
    r"(?<![0-9])(?:(sh|sz|bj)[._]?)?([0-9]{6})(?:\.(sh|sz|bj))?(?![0-9])", re.ASCII
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")


class DailyFormatError(Exception):
    """A whole file cannot be read (unknown layout, no symbol, undecodable)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh, self.message_en = message_zh, message_en


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that was skipped: ``line`` is 1-based in the file (the header is line 1)."""

    line: int
    reason: str
    reason_en: str
    text: str


@dataclass(slots=True)
class DailyFile:
    """What one file (or one download) holds: bars oldest first, and the skipped rows."""

    layout: DailyLayout
    bars: list[Bar] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    path: Path | None = None

    @property
    def symbols(self) -> list[str]:
        return sorted({bar.symbol.full for bar in self.bars})


def daily_close(day: date) -> datetime:
    """The end label of the daily bar of ``day``: 15:00 Beijing time."""
    return datetime.combine(day, CLOSE_TIME, BEIJING)


def daily_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``.csv``/``.txt`` below it, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DailyFormatError(f"找不到文件或目录：{path}", f"no such file or folder: {path}")
    return sorted(p for p in path.rglob("*") if p.suffix.lower() in FILE_SUFFIXES and p.is_file())


def symbol_from_path(path: Path) -> Symbol | None:
    """The security a file is named after (``consumer_600519.csv``, ``000019.SZ.csv``)."""
    name = path.name
    for suffix in FILE_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    for match in _CODE_IN_NAME.finditer(name.lower()):
        tag = match[1] or match[3] or ""
        try:
            return parse_symbol(f"{tag}{match[2]}")
        except DomainError:
            continue
    return None


def detect_layout(header: Sequence[str]) -> DailyLayout | None:
    """The layout a header belongs to; None if it is not a daily OHLCV header."""
    names = [normal_name(name) for name in header]
    columns = column_positions(names)
    if any(name not in columns for name in _REQUIRED):
        return None
    if "ts_code" in names or names == _TUSHARE_INDEX_HEADER:
        return DailyLayout.TUSHARE
    if _CHINESE_MARKERS.intersection(names):
        return DailyLayout.AKSHARE
    return DailyLayout.PLAIN


def read_daily(path: Path, *, symbol: Symbol | None = None) -> DailyFile:
    """Read one file. ``symbol`` overrides the file name (a code column still wins).

    Raises:
        DailyFormatError: the file is unreadable, not a daily OHLCV layout, or names no
            security (neither a code column nor a code in the file name).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DailyFormatError(
            f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from exc
    text = decode_text(data, path)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise DailyFormatError(f"空文件：{path}", f"empty file: {path}")
    rows = ((number, row) for number, row in enumerate(reader, start=2))
    result = parse_daily(header, rows, symbol=symbol or symbol_from_path(path), where=str(path))
    result.path = path
    return result


def parse_daily(
    header: Sequence[str],
    rows: Iterable[tuple[int, Sequence[str]]],
    *,
    layout: DailyLayout | None = None,
    symbol: Symbol | None = None,
    where: str = "",
) -> DailyFile:
    """Normalise rows of one layout: ``rows`` are ``(line number, fields)``.

    Raises:
        DailyFormatError: unknown layout, or no code column and no ``symbol``.
    """
    names = [normal_name(name) for name in header]
    layout = layout or detect_layout(header)
    columns = column_positions(names)
    missing = [name for name in _REQUIRED if name not in columns]
    if layout is None or missing:
        shown = ",".join(header)[:200]
        raise DailyFormatError(
            f"无法识别的日线格式 {where}：表头 {shown}",
            f"not a known daily OHLCV layout {where}: header {shown}",
        )
    code_column = columns.get("code")
    if code_column is None and symbol is None:
        raise DailyFormatError(
            f"{where} 没有代码列，文件名里也没有证券代码",
            f"{where} has no code column and no security code in its name",
        )
    volume_unit, amount_unit = UNITS[layout]
    result = DailyFile(layout)
    seen: set[tuple[str, date]] = set()
    width = len(names)
    for line, fields in rows:
        if not fields or all(not value.strip() for value in fields):
            continue
        try:
            if len(fields) < width or any(value.strip() for value in fields[width:]):
                raise _Bad("字段数不对", f"expected {width} fields, got {len(fields)}")
            row_symbol = symbol
            if code_column is not None and fields[code_column].strip():
                row_symbol = _symbol(fields[code_column])
            if row_symbol is None:  # an empty code and no code in the file name
                raise _Bad("缺少代码", "no code")
            bar = _bar(row_symbol, fields, columns, volume_unit, amount_unit)
            key = (bar.symbol.full, bar.end.date())
            if key in seen:
                raise _Bad("日期重复（保留第一条）", f"duplicate date {key[1]} (the first is kept)")
            seen.add(key)
            result.bars.append(bar)
        except _Bad as bad:
            result.bad.append(BadRow(line, bad.reason, bad.reason_en, ",".join(fields)[:200]))
    result.bars.sort(key=lambda bar: (bar.symbol.full, bar.end))
    return result


# -- internals ----------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, reason: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason, self.reason_en = reason, reason_en


def normal_name(name: str) -> str:
    """A header cell as the alias tables spell it: trimmed, without a BOM, lower case."""
    return name.strip().lstrip("\ufeff").strip().lower()


def column_positions(
    names: Sequence[str], aliases: Mapping[str, tuple[str, ...]] = _ALIASES
) -> dict[str, int]:
    """Field -> position of its first alias found in ``names`` (normalised header cells)."""
    columns: dict[str, int] = {}
    for field_name, field_aliases in aliases.items():
        for alias in field_aliases:
            if alias in names:
                columns[field_name] = names.index(alias)
                break
    return columns


def decode_text(data: bytes, path: Path) -> str:
    """A bar file's text, UTF-8 (with or without BOM) or GBK; else :class:`DailyFormatError`."""
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DailyFormatError(
        f"{path} 既不是 UTF-8 也不是 GBK 编码", f"{path} is neither UTF-8 nor GBK"
    )


def _symbol(text: str) -> Symbol:
    try:
        return parse_symbol(text.strip())
    except DomainError as exc:
        raise _Bad(exc.message_zh, exc.message_en) from None


def _day(text: str) -> date:
    stripped = text.strip()
    if len(stripped) == 10 and stripped[4] == "-" and stripped[7] == "-":  # the common case
        try:
            return date(int(stripped[:4]), int(stripped[5:7]), int(stripped[8:]))
        except ValueError:
            pass
    value, rest = stripped[:10], stripped[10:].strip(" T")
    if "-" not in value and "/" not in value:
        value, rest = stripped[:8], stripped[8:].strip(" T")
    if rest and rest.strip("0:."):
        raise _Bad(
            f"不是日线（带盘中时间 {stripped[:20]!r}）",
            f"not a daily bar (intraday time {stripped[:20]!r})",
        )
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise _Bad(f"日期无法识别：{text.strip()[:20]!r}", f"bad date {text.strip()[:20]!r}")


def _number(text: str, name: str) -> Decimal:
    value = text.strip()
    if not value:
        raise _Bad(f"{name} 为空", f"{name} is empty")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _Bad(
            f"{name} 不是数字：{value[:20]!r}", f"{name} is not a number: {value[:20]!r}"
        ) from None
    if not number.is_finite():
        raise _Bad(f"{name} 不是有限数", f"{name} is not finite")
    return number


def _bar(
    symbol: Symbol,
    fields: Sequence[str],
    columns: dict[str, int],
    volume_unit: Decimal,
    amount_unit: Decimal,
) -> Bar:
    day = _day(fields[columns["date"]])
    open_, high, low, close = (
        _number(fields[columns[name]], name) for name in ("open", "high", "low", "close")
    )
    volume = _number(fields[columns["volume"]], "volume") * volume_unit
    amount_column = columns.get("amount")
    amount = (
        _number(fields[amount_column], "amount") * amount_unit
        if amount_column is not None
        else Decimal(0)
    )
    for name, price in (("open", open_), ("high", high), ("low", low), ("close", close)):
        if price <= 0:
            raise _Bad(f"{name} 价格必须为正：{price}", f"{name} must be positive: {price}")
    if not low <= min(open_, close) <= max(open_, close) <= high:
        raise _Bad(
            f"最高/最低价不包含开盘/收盘价：开 {open_} 高 {high} 低 {low} 收 {close}",
            f"high/low do not bracket open/close: o {open_} h {high} l {low} c {close}",
        )
    if volume < 0 or amount < 0:
        raise _Bad("成交量或成交额为负", f"negative volume {volume} or amount {amount}")
    return Bar(
        symbol=symbol,
        freq=FREQ,
        end=daily_close(day),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=int(volume.to_integral_value(rounding=ROUND_HALF_UP)),
        amount=amount,
    )


__all__ = [
    "FREQ",
    "UNITS",
    "BadRow",
    "DailyFile",
    "DailyFormatError",
    "DailyLayout",
    "daily_close",
    "daily_files",
    "detect_layout",
    "parse_daily",
    "read_daily",
    "symbol_from_path",
]
