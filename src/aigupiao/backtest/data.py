"""Bars for a backtest: files and folders of daily or intraday bars, or the database's bars,
as one dense market (one row per bar time, one column per security).

* Every daily layout :mod:`aigupiao.market.daily` knows (``plain``, ``tushare``, ``akshare``,
  any column order, ascending or newest-first) and the intraday layouts under
  ``../shared/data/minute/`` (a ``datetime`` column with a time of day: 1-, 5- and 15-minute
  bars, akshare or plain). Units are normalised as :data:`aigupiao.market.daily.UNITS` says:
  volume in shares, amount in CNY (0 where a file has none).
* The code comes from a code column (``ts_code``, ``code``, ``symbol``, ``股票代码``) or the
  file name (``consumer_000333.csv``). A code found in several files (the same stock in two
  sector folders) is read once: the first file by path wins and a warning says so.
* Rows that cannot be used (not numbers, prices not positive, high/low not bracketing open
  and close) are skipped with a warning naming the file, as ``read_daily`` does; a
  minute bar with an open of 0 (a real akshare quirk) takes the bar's close as its open.
* Adjustment: prices off the 0.01 tick are forward-adjusted (``qfq``); with tushare
  ``adj_factor`` files (``ts_code,trade_date,adj_factor``) raw prices are forward-adjusted
  here (price x factor / the code's latest factor). Files rounded to the cent after
  adjustment cannot be told from raw ones: they are flagged ``raw`` and simply show no
  corporate-action gaps.

Arrays are float64 (these are indicator inputs and fill candidates; the engine turns a
fill's price into a ``Decimal`` on the tick). ``nan`` marks a security without a bar at
that time (not listed yet, suspended, delisted).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aigupiao.domain.errors import DomainError
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.market.daily import (
    UNITS,
    DailyFormatError,
    daily_files,
    detect_layout,
    symbol_from_path,
)

from .model import BacktestConfig, BacktestInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FIELDS = ("open", "high", "low", "close", "volume", "amount")
DAILY_CLOSE = time(15, 0)
RAW, FORWARD_ADJUSTED = "raw", "qfq"

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


def _fail(zh: str, en: str) -> BacktestInputError:
    return BacktestInputError(zh, en)


@dataclass(slots=True)
class Series:
    """One security's bars from one file, oldest first."""

    symbol: Symbol
    stamps: IntArray  # minutes since the epoch (Beijing wall time), bar ends
    columns: dict[str, FloatArray]
    path: Path | None
    adjustment: str


@dataclass(slots=True)
class MarketData:
    """A dense market: ``columns[name][step, slot]``; ``nan`` where a slot has no bar.

    ``stamps`` are bar ends as minutes since 1970-01-01 on Beijing wall time; a daily bar
    ends at 15:00. ``day_index[step]`` numbers the trading days (0, 1, ...) and
    ``days[day_index[step]]`` is the step's date ordinal.
    """

    symbols: list[Symbol]
    stamps: IntArray
    columns: dict[str, FloatArray]
    intraday: bool
    adjustment: dict[str, str] = field(default_factory=dict)  # code -> raw / qfq
    sources: dict[str, str] = field(default_factory=dict)  # code -> file
    warnings: list[str] = field(default_factory=list)
    has_amount: bool = True

    @property
    def codes(self) -> list[str]:
        return [symbol.full for symbol in self.symbols]

    @property
    def bars(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.columns["close"])))

    @property
    def day_ordinals(self) -> IntArray:
        """Date ordinal of each step."""
        return _ordinals(self.stamps)

    def times(self) -> list[datetime]:
        """Each step's bar end as an aware Beijing datetime."""
        epoch = datetime(1970, 1, 1)
        return [(epoch + timedelta(minutes=int(m))).replace(tzinfo=BEIJING) for m in self.stamps]

    def select(
        self, codes: Sequence[str] = (), start: date | None = None, end: date | None = None
    ) -> MarketData:
        """The given codes (all when empty) between ``start`` and ``end`` (inclusive).

        Raises:
            BacktestInputError: a code with no data, or no bar in the range.
        """
        slots = list(range(len(self.symbols)))
        if codes:
            index = {symbol.full: i for i, symbol in enumerate(self.symbols)}
            slots = []
            for text in codes:
                try:
                    full = parse_symbol(text).full
                except DomainError as exc:
                    raise _fail(
                        f"代码无效：{text}（{exc.message_zh}）",
                        f"bad code {text}: {exc.message_en}",
                    ) from None
                if full not in index:
                    raise _fail(
                        f"数据里没有 {full} 的行情", f"no data for {full} in the given files"
                    )
                slots.append(index[full])
        ordinals = self.day_ordinals
        keep = np.ones(len(self.stamps), bool)
        if start is not None:
            keep &= ordinals >= start.toordinal()
        if end is not None:
            keep &= ordinals <= end.toordinal()
        picked = np.array(slots, dtype=np.intp)
        columns = {name: values[np.ix_(keep, picked)] for name, values in self.columns.items()}
        if codes:  # a code asked for by name must have bars in the range
            for slot, chosen in enumerate(slots):
                if np.all(np.isnan(columns["close"][:, slot])):
                    full = self.symbols[chosen].full
                    raise _fail(f"{full} 在日期范围内没有行情", f"{full} has no bars in the range")
        present = ~np.all(np.isnan(columns["close"]), axis=1)
        steps = np.flatnonzero(keep)[present]
        if steps.size == 0:
            shown = f"{start or '…'} ~ {end or '…'}"
            raise _fail(
                f"日期范围 {shown} 内没有行情"
                f"（数据从 {_day(ordinals[0])} 到 {_day(ordinals[-1])}）",
                f"no bars in the range {shown} (the data runs {_day(ordinals[0])} to "
                f"{_day(ordinals[-1])})",
            )
        columns = {name: values[present] for name, values in columns.items()}
        symbols = [self.symbols[i] for i in slots]
        traded = ~np.all(np.isnan(columns["close"]), axis=0)
        if not traded.all():  # codes of the data that did not trade in the range
            columns = {name: values[:, traded] for name, values in columns.items()}
            symbols = [symbol for symbol, keep_it in zip(symbols, traded, strict=True) if keep_it]
        wanted = {symbol.full for symbol in symbols}
        return MarketData(
            symbols=symbols,
            stamps=self.stamps[steps],
            columns=columns,
            intraday=self.intraday,
            adjustment={k: v for k, v in self.adjustment.items() if k in wanted},
            sources={k: v for k, v in self.sources.items() if k in wanted},
            warnings=list(self.warnings),
            has_amount=self.has_amount,
        )


# -- loading ------------------------------------------------------------------------------


def load(config: BacktestConfig) -> MarketData:
    """The bars ``config`` names: its files, its codes, its date range, adjusted by its
    ``adj_factors`` file when given."""
    market = load_paths(config.data)
    if config.adj_factors is not None:
        apply_adj_factors(market, read_adj_factors(config.adj_factors))
    return market.select(config.codes, config.start, config.end)


def load_paths(paths: Iterable[Path], *, skip_bad_files: bool = False) -> MarketData:
    """Every file below ``paths`` as one market (see the module docstring). A file found
    in a folder that holds no usable bars is skipped with a warning; one named itself
    raises, unless ``skip_bad_files``.

    Raises:
        BacktestInputError: a path that does not exist, a file that cannot be read or is
            not a bar layout, no bars at all, or daily and intraday bars mixed.
    """
    found: list[tuple[Path, bool]] = []  # (file, named itself rather than found in a folder)
    for path in paths:
        path = Path(path)
        try:
            found.extend((file, file == path) for file in daily_files(path))
        except DailyFormatError as exc:
            raise _fail(exc.message_zh, exc.message_en) from None
    if not found:
        raise _fail("没有找到数据文件", "no data files found")
    series: list[Series] = []
    warnings: list[str] = []
    for path, named in found:
        try:
            series.extend(read_bars(path, warnings))
        except BacktestInputError as exc:
            if named and not skip_bad_files:
                raise
            warnings.append(f"跳过 {exc.message_zh} (skipped: {exc.message_en})")
    return assemble(series, warnings)


def assemble(series: Sequence[Series], warnings: list[str] | None = None) -> MarketData:
    """One dense market from per-security series; the first series of a code wins."""
    warnings = [] if warnings is None else warnings
    if not series:
        raise _fail("数据文件里没有可用的行情", "the data files hold no usable bars")
    kept: dict[str, Series] = {}
    for one in series:
        code = one.symbol.full
        first = kept.get(code)
        if first is None:
            kept[code] = one
        else:
            warnings.append(
                f"{code} 出现在多个文件中，只用 {first.path}，忽略 {one.path}"
                f" ({code} is in several files: using {first.path}, ignoring {one.path})"
            )
    chosen = sorted(kept.values(), key=lambda s: s.symbol.full)
    intraday = {_is_intraday(one.stamps) for one in chosen}
    if len(intraday) > 1:
        raise _fail(
            "日线和分钟线不能混在一次回测里", "daily and intraday bars cannot be mixed in one run"
        )
    stamps = np.unique(np.concatenate([one.stamps for one in chosen]))
    columns = {name: np.full((stamps.size, len(chosen)), math.nan) for name in FIELDS}
    for slot, one in enumerate(chosen):
        rows = np.searchsorted(stamps, one.stamps)
        for name in FIELDS:
            columns[name][rows, slot] = one.columns[name]
    has_amount = all(np.any(one.columns["amount"] > 0) for one in chosen)
    return MarketData(
        symbols=[one.symbol for one in chosen],
        stamps=stamps,
        columns=columns,
        intraday=intraday.pop(),
        adjustment={one.symbol.full: one.adjustment for one in chosen},
        sources={one.symbol.full: str(one.path) for one in chosen if one.path is not None},
        warnings=warnings,
        has_amount=has_amount,
    )


def read_bars(path: Path, warnings: list[str] | None = None) -> list[Series]:
    """The bars of one file, one :class:`Series` per code in it.

    Raises:
        BacktestInputError: the file cannot be read, is not a bar layout, or names no code.
    """
    warnings = [] if warnings is None else warnings
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(
            f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from None
    text = _decode(data, path)
    lines = text.splitlines()
    if not lines:
        raise _fail(f"空文件：{path}", f"empty file: {path}")
    first = lines[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    header = [name.strip().lstrip("\ufeff").strip().lower() for name in first.split(delimiter)]
    layout = detect_layout(header)
    columns = _columns(header)
    if layout is None or "close" not in columns:
        raise _fail(
            f"无法识别的行情格式 {path}：表头 {first[:200]}",
            f"not a known bar layout {path}: header {first[:200]}",
        )
    stamp_column = columns.get("datetime", columns.get("date"))
    assert stamp_column is not None  # detect_layout checked the date column
    code_column = columns.get("code")
    named = symbol_from_path(path)
    if code_column is None and named is None:
        raise _fail(
            f"{path} 没有代码列，文件名里也没有证券代码",
            f"{path} has no code column and no security code in its name",
        )
    width = len(header)
    volume_unit, amount_unit = (float(u) for u in UNITS[layout])
    if code_column is None and delimiter == "," and named is not None:
        numeric = _numeric_file(text, len(lines) - 1, width, columns, stamp_column)
        if numeric is not None:
            stamps, matrix = numeric
            one, bad = _checked(named, stamps, matrix, 0, volume_unit, amount_unit, path)
            if bad:
                warnings.append(
                    f"{path}：跳过 {bad} 行无法使用的数据 ({path}: skipped {bad} unusable rows)"
                )
            if one is None:
                raise _fail(f"{path} 没有可用的行情", f"{path} holds no usable bars")
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
        raise _fail(f"{path} 没有可用的行情", f"{path} holds no usable bars")
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
        return _checked(symbol, stamps, matrix, 0, volume_unit, amount_unit, path)
    stamps_list: list[int] = []
    values: list[tuple[float, ...]] = []
    bad = 0
    for row in rows:
        try:
            stamp = _stamp(row[stamp_column])
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
    return _checked(symbol, stamps, matrix, bad, volume_unit, amount_unit, path)


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


def _checked(
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
    intraday = _is_intraday(stamps)
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


_EPOCH = date(1970, 1, 1).toordinal()


def _stamp(text: str) -> int:
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
    return (day.toordinal() - _EPOCH) * 1440 + minutes


def _is_intraday(stamps: IntArray) -> bool:
    return bool(np.any(stamps % 1440 != 15 * 60))


def _ordinals(stamps: IntArray) -> IntArray:
    result: IntArray = stamps // 1440 + _EPOCH
    return result


def _day(ordinal: int | np.integer[Any]) -> date:
    return date.fromordinal(int(ordinal))


def _columns(names: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in names:
                columns[name] = names.index(alias)
                break
    return columns


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gbk"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _fail(f"{path} 既不是 UTF-8 也不是 GBK 编码", f"{path} is neither UTF-8 nor GBK")


# -- adjustment factors -----------------------------------------------------------------


def read_adj_factors(path: Path) -> dict[str, tuple[IntArray, FloatArray]]:
    """A tushare ``adj_factor`` file: code -> (date ordinals, factors), oldest first.

    Raises:
        BacktestInputError: the file cannot be read or lacks the three columns.
    """
    try:
        text = _decode(path.read_bytes(), path)
    except OSError as exc:
        raise _fail(
            f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    header = [name.strip().lower() for name in lines[0].split(",")] if lines else []
    try:
        code_at, day_at, factor_at = (
            header.index(n) for n in ("ts_code", "trade_date", "adj_factor")
        )
    except ValueError:
        raise _fail(
            f"{path} 不是复权因子文件（需要 ts_code,trade_date,adj_factor 列）",
            f"{path} is not an adj_factor file (needs ts_code,trade_date,adj_factor)",
        ) from None
    found: dict[str, list[tuple[int, float]]] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        try:
            code = parse_symbol(fields[code_at].strip()).full
            ordinal = _stamp(fields[day_at]) // 1440 + _EPOCH
            factor = float(fields[factor_at])
        except (ValueError, IndexError, DomainError):
            raise _fail(
                f"{path} 第 {number} 行无法读取：{line[:80]}", f"{path} line {number}: {line[:80]}"
            ) from None
        if not factor > 0:
            raise _fail(
                f"{path} 第 {number} 行复权因子不为正", f"{path} line {number}: factor <= 0"
            )
        found.setdefault(code, []).append((ordinal, factor))
    result = {}
    for code, pairs in found.items():
        pairs.sort()
        result[code] = (
            np.array([p[0] for p in pairs], dtype=np.int64),
            np.array([p[1] for p in pairs], dtype=np.float64),
        )
    return result


def apply_adj_factors(
    market: MarketData, factors: Mapping[str, tuple[IntArray, FloatArray]]
) -> None:
    """Forward-adjust (前复权) the prices of every code ``factors`` covers, in place:
    price x factor(day) / factor(latest); a day before the first factor takes the first."""
    ordinals = market.day_ordinals
    for slot, symbol in enumerate(market.symbols):
        entry = factors.get(symbol.full)
        if entry is None:
            continue
        days, values = entry
        at = np.clip(np.searchsorted(days, ordinals, side="right") - 1, 0, days.size - 1)
        scale = values[at] / values[-1]
        for name in ("open", "high", "low", "close"):
            market.columns[name][:, slot] *= scale
        market.adjustment[symbol.full] = FORWARD_ADJUSTED


# -- the database's bars ------------------------------------------------------------------


def from_rows(rows: Iterable[Mapping[str, Any]], *, freq: str = "1d") -> MarketData:
    """A market from stored bar rows (``store`` ``bars`` table rows: symbol, freq, end,
    open, high, low, close, volume in shares, amount in CNY); rows of other freqs are
    ignored. Daily bars are stamped 15:00 of their Beijing date, 1-minute bars by their
    Beijing end time.

    Raises:
        BacktestInputError: no row of ``freq``.
    """
    grouped: dict[str, tuple[list[int], list[tuple[float, ...]]]] = {}
    for row in rows:
        if row["freq"] != freq:
            continue
        end: datetime = row["end"]
        local = end.astimezone(BEIJING) if end.tzinfo else end.replace(tzinfo=BEIJING)
        minutes = 15 * 60 if freq == "1d" else local.hour * 60 + local.minute
        stamp = (local.date().toordinal() - _EPOCH) * 1440 + minutes
        stamps, values = grouped.setdefault(str(row["symbol"]), ([], []))
        stamps.append(stamp)
        values.append(tuple(float(row[name]) for name in FIELDS))
    series = []
    for code, (stamps, values) in grouped.items():
        one, _ = _checked(
            parse_symbol(code), np.array(stamps, dtype=np.int64),
            np.array(values, dtype=np.float64), 0, 1.0, 1.0, Path(f"database:{code}"),
        )  # fmt: skip
        if one is not None:
            one.path = None
            series.append(one)
    if not series:
        raise _fail(f"数据库里没有 {freq} 行情", f"the database holds no {freq} bars")
    return assemble(series)


async def load_database_bars(session: Any, *, since: datetime, freq: str = "1d") -> MarketData:
    """Every stored bar of ``freq`` ending at ``since`` or later (``store.BarRepo.since``),
    for ``run_backtest(..., data=...)``; the config's codes and range then select."""
    from aigupiao.store.repositories.market import BarRepo

    rows = await BarRepo(session).since(freq, since)
    return from_rows(rows, freq=freq)
