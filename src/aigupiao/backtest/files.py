"""Reading one bar file: its layout, its codes, its rows as numbers (see :mod:`.data`).

The common files (numbers and ISO or ``YYYYMMDD`` dates, one code) are parsed in a few
numpy calls; anything else (a code column, a time of day, a bad row) row by row, the bad
rows skipped and counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aigupiao.domain.errors import DomainError
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.market.daily import (
    UNITS,
    DailyFormatError,
    column_positions,
    decode_text,
    detect_layout,
    normal_name,
    symbol_from_path,
)

from .model import BacktestInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FIELDS = ("open", "high", "low", "close", "volume", "amount")
RAW, FORWARD_ADJUSTED = "raw", "qfq"
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "trade_date", "日期", "交易日期"),
    "datetime": ("datetime", "时间", "day"),
    "open": ("open", "开盘", "开盘价"),
    "high": ("high", "最高", "最高价"),
    "low": ("low", "最低", "最低价"),
    "close": ("close", "收盘", "收盘价"),
    "volume": ("volume", "vol", "成交量"),
    "amount": ("amount", "成交额"),
    "code": ("ts_code", "code", "股票代码", "代码", "symbol"),
}


def fail(zh: str, en: str) -> BacktestInputError:
    return BacktestInputError(zh, en)


@dataclass(slots=True)
class Series:
    """One security's bars from one file, oldest first."""

    symbol: Symbol
    stamps: IntArray  # minutes since the epoch (Beijing wall time), bar ends
    columns: dict[str, FloatArray]
    path: Path | None
    adjustment: str


def read_bars(path: Path, warnings: list[str] | None = None) -> list[Series]:
    """The bars of one file, one :class:`Series` per code in it.

    Raises:
        BacktestInputError: the file cannot be read, is not a bar layout, or names no code.
    """
    warnings = [] if warnings is None else warnings
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(
            f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from None
    text = decode(data, path)
    lines = text.splitlines()
    if not lines:
        raise fail(f"空文件：{path}", f"empty file: {path}")
    first = lines[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    header = [normal_name(name) for name in first.split(delimiter)]
    layout = detect_layout(header)
    columns = column_positions(header, _ALIASES)
    if layout is None or "close" not in columns:
        raise fail(
            f"无法识别的行情格式 {path}：表头 {first[:200]}",
            f"not a known bar layout {path}: header {first[:200]}",
        )
    stamp_column = columns.get("datetime", columns.get("date"))
    assert stamp_column is not None  # detect_layout checked the date column
    code_column = columns.get("code")
    named = symbol_from_path(path)
    if code_column is None and named is None:
        raise fail(
            f"{path} 没有代码列，文件名里也没有证券代码",
            f"{path} has no code column and no security code in its name",
        )
    width = len(header)
    volume_unit, amount_unit = (float(u) for u in UNITS[layout])
    if code_column is None and delimiter == "," and named is not None:
        numeric = _numeric_file(text, len(lines) - 1, width, columns, stamp_column)
        if numeric is not None:
            stamps, matrix = numeric
            one, bad = checked(named, stamps, matrix, 0, volume_unit, amount_unit, path)
            if bad:
                warnings.append(
                    f"{path}：跳过 {bad} 行无法使用的数据 ({path}: skipped {bad} unusable rows)"
                )
            if one is None:
                raise fail(f"{path} 没有可用的行情", f"{path} holds no usable bars")
            return [one]
    rows = [line.split(delimiter) for line in lines[1:] if line.strip()]
    good: list[list[str]] = []
    bad = 0
    for row in rows:
        if len(row) == width or (len(row) > width and not any(v.strip() for v in row[width:])):
            good.append(row)
        else:
            bad += 1
    by_code: dict[str, list[list[str]]] = {}
    if code_column is None:
        assert named is not None
        by_code[named.full] = good
    else:
        symbols: dict[str, str] = {}
        for row in good:
            text_code = row[code_column].strip()
            full = symbols.get(text_code)
            if full is None:
                try:
                    full = parse_symbol(text_code).full if text_code else ""
                except DomainError:
                    full = ""
                if not full and named is not None:
                    full = named.full
                symbols[text_code] = full
            if full:
                by_code.setdefault(full, []).append(row)
            else:
                bad += 1
    found = []
    for full, code_rows in by_code.items():
        one, skipped = _series(
            parse_symbol(full), code_rows, columns, stamp_column, volume_unit, amount_unit, path
        )
        bad += skipped
        if one is not None:
            found.append(one)
    if bad:
        warnings.append(
            f"{path}：跳过 {bad} 行无法使用的数据 ({path}: skipped {bad} unusable rows)"
        )
    if not found:
        raise fail(f"{path} 没有可用的行情", f"{path} holds no usable bars")
    return found


def _series(
    symbol: Symbol,
    rows: list[list[str]],
    columns: Mapping[str, int],
    stamp_column: int,
    volume_unit: float,
    amount_unit: float,
    path: Path,
) -> tuple[Series | None, int]:
    picks = [columns[name] for name in ("open", "high", "low", "close", "volume")]
    amount_column = columns.get("amount")
    parsed = _fast_rows(rows, picks, amount_column, stamp_column)
    if parsed is not None:
        stamps, matrix = parsed
        return checked(symbol, stamps, matrix, 0, volume_unit, amount_unit, path)
    stamps_list: list[int] = []
    values: list[tuple[float, ...]] = []
    bad = 0
    for row in rows:
        try:
            stamp = stamp_of(row[stamp_column])
            numbers = tuple(float(row[i]) for i in picks)
            amount = float(row[amount_column]) if amount_column is not None else 0.0
        except (ValueError, IndexError):
            bad += 1
            continue
        if not all(math.isfinite(x) for x in numbers) or not math.isfinite(amount):
            bad += 1
            continue
        values.append((*numbers, amount))
        stamps_list.append(stamp)
    if not values:
        return None, bad
    stamps = np.array(stamps_list, dtype=np.int64)
    matrix = np.array(values, dtype=np.float64)
    return checked(symbol, stamps, matrix, bad, volume_unit, amount_unit, path)


def _numeric_file(
    text: str, rows: int, width: int, columns: Mapping[str, int], stamp_column: int
) -> tuple[IntArray, FloatArray] | None:
    """A file of numbers and ``YYYY-MM-DD`` (or ``YYYYMMDD``) dates parsed in C: the dates'
    dashes are dropped so every field is a number. None when the file is anything else
    (a time of day, an empty field, a stray character): the row-by-row path takes it."""
    body = text.split("\n", 1)[1] if "\n" in text else ""
    dashes = body.count("-")  # a date's two, and no negative number
    if dashes not in (0, 2 * rows) or ":" in body or ",," in body:
        return None
    flat = body.replace("-", "").replace("\r", "").replace("\n", ",")
    try:
        with np.errstate(all="ignore"):
            numbers = np.array(flat.strip(",").split(","), dtype=np.float64)
    except ValueError:
        return None
    if numbers.size != rows * width or rows == 0:
        return None
    table = numbers.reshape(rows, width)
    days = table[:, stamp_column]
    if not np.all((days > 19_000_000) & (days < 21_000_000) & (days == np.floor(days))):
        return None
    stamps = _daily_stamps(days.astype(np.int64))
    picks = [columns[name] for name in ("open", "high", "low", "close", "volume")]
    matrix = table[:, picks]
    amount = columns.get("amount")
    tail = table[:, [amount]] if amount is not None else np.zeros((rows, 1))
    return stamps, np.hstack([matrix, tail])


def _daily_stamps(day_numbers: IntArray) -> IntArray:
    """``YYYYMMDD`` numbers as the stamps of daily bars (15:00 of each day)."""
    years = day_numbers // 10000 - 1970
    months = (day_numbers // 100) % 100 - 1
    dates = (
        years.astype("datetime64[Y]").astype("datetime64[M]") + months.astype("timedelta64[M]")
    ).astype("datetime64[D]") + ((day_numbers % 100) - 1).astype("timedelta64[D]")
    stamps: IntArray = dates.astype(np.int64) * 1440 + 15 * 60
    return stamps


def _fast_rows(
    rows: list[list[str]], picks: list[int], amount_column: int | None, stamp_column: int
) -> tuple[IntArray, FloatArray] | None:
    """The common case in a few numpy calls: every row well formed, ISO dates (with or
    without a time) or ``YYYYMMDD``; None sends the file to the row-by-row path."""
    if not rows:
        return None
    try:
        cells = np.array(rows)
        if cells.ndim != 2:
            return None
        wanted = [*picks, amount_column] if amount_column is not None else picks
        matrix = cells[:, wanted].astype(np.float64)
        if amount_column is None:
            matrix = np.hstack([matrix, np.zeros((matrix.shape[0], 1))])
        if not np.isfinite(matrix).all():
            return None
        texts = np.char.strip(cells[:, stamp_column])
        lengths = np.char.str_len(texts)
        first = str(texts[0])
        if (lengths == 10).all() and first[4] == "-":
            days = texts.astype("datetime64[D]").astype(np.int64)
            stamps = days * 1440 + 15 * 60
        elif (lengths == 8).all() and first.isdigit():
            numbers = texts.astype(np.int64)
            stamps = _daily_stamps(numbers)
        elif (lengths == 19).all() and first[4] == "-" and first[10] == " ":
            stamps = np.char.replace(texts, " ", "T").astype("datetime64[m]").astype(np.int64)
        else:
            return None
    except ValueError:
        return None
    return stamps.astype(np.int64), matrix


def checked(
    symbol: Symbol,
    stamps: IntArray,
    matrix: FloatArray,
    bad: int,
    volume_unit: float,
    amount_unit: float,
    path: Path,
) -> tuple[Series | None, int]:
    order = np.argsort(stamps, kind="stable")
    stamps, matrix = stamps[order], matrix[order]
    unique = np.ones(stamps.size, bool)
    unique[1:] = stamps[1:] != stamps[:-1]  # a repeated time: the first row is kept
    bad += int(np.count_nonzero(~unique))
    stamps, matrix = stamps[unique], matrix[unique]
    o, h, low, c, v, a = (np.array(matrix[:, i], dtype=np.float64) for i in range(6))
    intraday = is_intraday(stamps)
    if intraday:  # an open of 0 (akshare 1-minute quirk): the bar's close stands in
        zero = ~(o > 0)
        o[zero] = c[zero]
        h, low = np.maximum(h, o), np.minimum(low, o)
    ok = (o > 0) & (h > 0) & (low > 0) & (c > 0) & (v >= 0) & (a >= 0)
    ok &= (low <= np.minimum(o, c) + 1e-9) & (h >= np.maximum(o, c) - 1e-9)
    bad += int(np.count_nonzero(~ok))
    if not ok.any():
        return None, bad
    columns_out = {
        "open": o[ok], "high": h[ok], "low": low[ok], "close": c[ok],
        "volume": np.round(v[ok] * volume_unit), "amount": a[ok] * amount_unit,
    }  # fmt: skip
    cents = matrix[:, :4] * 100
    adjustment = RAW if np.all(np.abs(cents - np.round(cents)) < 1e-6) else FORWARD_ADJUSTED
    return Series(symbol, stamps[ok], columns_out, path, adjustment), bad


def stamp_of(text: str) -> int:
    """Minutes since the epoch of a ``YYYY-MM-DD[ HH:MM[:SS]]`` or ``YYYYMMDD`` text; a date
    alone is a daily bar ending 15:00."""
    value = text.strip()
    if len(value) >= 10 and value[4] in "-/":
        day = date(int(value[:4]), int(value[5:7]), int(value[8:10]))
        rest = value[10:].strip(" T")
    elif len(value) >= 8 and value[:8].isdigit():
        day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        rest = value[8:].strip(" T")
    else:
        raise ValueError(value)
    minutes = 15 * 60
    if rest and rest.strip("0:."):
        parts = rest.split(":")
        minutes = int(parts[0]) * 60 + int(parts[1])
    return (day.toordinal() - EPOCH_ORDINAL) * 1440 + minutes


def is_intraday(stamps: IntArray) -> bool:
    return bool(np.any(stamps % 1440 != 15 * 60))


def decode(data: bytes, path: Path) -> str:
    """:func:`aigupiao.market.daily.decode_text`, its error a :class:`BacktestInputError`."""
    try:
        return decode_text(data, path)
    except DailyFormatError as exc:
        raise BacktestInputError(exc.message_zh, exc.message_en) from None
