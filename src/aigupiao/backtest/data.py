"""Bars for a backtest: files and folders of daily or intraday bars, or the database's bars,
as one dense market (one row per bar time, one column per security).

* Every daily layout :mod:`aigupiao.market.daily` knows (``plain``, ``tushare``, ``akshare``,
  any column order, ascending or newest-first) and the intraday layouts under
  ``../shared/data/minute/`` (a ``datetime`` column with a time of day: 1-, 5- and 15-minute
  bars, akshare or plain). Units are normalised as :data:`aigupiao.market.daily.UNITS` says:
  volume in shares, amount in CNY (where a file has none, volume x the bar's average
  price, with a warning).
* The code comes from a code column (``ts_code``, ``code``, ``symbol``, ``股票代码``) or the
  file name (``consumer_000333.csv``). A code found in several files (the same stock in two
  sector folders, or in sets of different years) is merged by date: where they overlap the
  first file by path wins, and a warning says so.
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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aigupiao.domain.errors import DomainError
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.market.daily import (
    DailyFormatError,
    daily_files,
)

from .files import (
    EPOCH_ORDINAL,
    FIELDS,
    FORWARD_ADJUSTED,
    RAW,
    Series,
    checked,
    decode,
    fail,
    is_intraday,
    read_bars,
    stamp_of,
)
from .model import BacktestConfig, BacktestInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
__all__ = ["FIELDS", "FORWARD_ADJUSTED", "RAW", "MarketData", "Series", "read_bars"]


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
                    raise fail(
                        f"代码无效：{text}（{exc.message_zh}）",
                        f"bad code {text}: {exc.message_en}",
                    ) from None
                if full not in index:
                    raise fail(
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
                    raise fail(f"{full} 在日期范围内没有行情", f"{full} has no bars in the range")
        present = ~np.all(np.isnan(columns["close"]), axis=1)
        steps = np.flatnonzero(keep)[present]
        if steps.size == 0:
            shown = f"{start or '…'} ~ {end or '…'}"
            raise fail(
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


def _merged(group: list[Series], warnings: list[str]) -> Series:
    first = group[0]
    stamps = np.concatenate([one.stamps for one in group])
    order = np.argsort(stamps, kind="stable")  # stable: the earlier file first at a time
    stamps = stamps[order]
    unique = np.r_[True, stamps[1:] != stamps[:-1]]
    columns = {
        name: np.concatenate([one.columns[name] for one in group])[order][unique] for name in FIELDS
    }
    kinds = {one.adjustment for one in group}
    paths = ", ".join(str(one.path) for one in group)
    mixed = "；其中有前复权也有不复权价格" if len(kinds) > 1 else ""
    mixed_en = "; some are forward-adjusted, some raw" if len(kinds) > 1 else ""
    warnings.append(
        f"{first.symbol.full} 出现在 {len(group)} 个文件中（{paths}），按日期合并，"
        f"重叠的日期取第一个文件{mixed} ({first.symbol.full} is in {len(group)} files "
        f"({paths}): merged by date, the first file wins where they overlap{mixed_en})"
    )
    adjustment = FORWARD_ADJUSTED if FORWARD_ADJUSTED in kinds else RAW
    return Series(first.symbol, stamps[unique], columns, first.path, adjustment)


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
            raise fail(exc.message_zh, exc.message_en) from None
    if not found:
        raise fail("没有找到数据文件", "no data files found")
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
    """One dense market from per-security series. A code in several series (the same stock
    in two sector files, or in sets of different years) is merged by time: at a time two
    series share, the first one (by file path) wins; a warning names the files."""
    warnings = [] if warnings is None else warnings
    if not series:
        raise fail("数据文件里没有可用的行情", "the data files hold no usable bars")
    by_code: dict[str, list[Series]] = {}
    for one in series:
        by_code.setdefault(one.symbol.full, []).append(one)
    kept: dict[str, Series] = {}
    for code, group in by_code.items():
        kept[code] = group[0] if len(group) == 1 else _merged(group, warnings)
    chosen = sorted(kept.values(), key=lambda s: s.symbol.full)
    intraday = {is_intraday(one.stamps) for one in chosen}
    if len(intraday) > 1:
        raise fail(
            "日线和分钟线不能混在一次回测里", "daily and intraday bars cannot be mixed in one run"
        )
    stamps = np.unique(np.concatenate([one.stamps for one in chosen]))
    columns = {name: np.full((stamps.size, len(chosen)), math.nan) for name in FIELDS}
    for slot, one in enumerate(chosen):
        rows = np.searchsorted(stamps, one.stamps)
        for name in FIELDS:
            columns[name][rows, slot] = one.columns[name]
    has_amount = _estimate_missing_amounts(chosen, columns, warnings)
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


def _estimate_missing_amounts(
    chosen: Sequence[Series], columns: dict[str, FloatArray], warnings: list[str]
) -> bool:
    """Give securities whose files have no amount one estimated from volume x the bar's
    average price ((open + high + low + close) / 4), so liquidity filters and ``vwap``
    fills have something to read; a warning names how many. True if none was missing."""
    missing = [slot for slot, one in enumerate(chosen) if not np.any(one.columns["amount"] > 0)]
    if not missing:
        return True
    average = sum(columns[name][:, missing] for name in ("open", "high", "low", "close")) / 4
    columns["amount"][:, missing] = columns["volume"][:, missing] * average
    warnings.append(
        f"{len(missing)} 只证券的数据没有成交额，按成交量×当根均价估算"
        f" ({len(missing)} securities have no amount: estimated as volume x the bar's"
        " average price)"
    )
    return False


def _ordinals(stamps: IntArray) -> IntArray:
    result: IntArray = stamps // 1440 + EPOCH_ORDINAL
    return result


def _day(ordinal: int | np.integer[Any]) -> date:
    return date.fromordinal(int(ordinal))


# -- adjustment factors -----------------------------------------------------------------


def read_adj_factors(path: Path) -> dict[str, tuple[IntArray, FloatArray]]:
    """A tushare ``adj_factor`` file: code -> (date ordinals, factors), oldest first.

    Raises:
        BacktestInputError: the file cannot be read or lacks the three columns.
    """
    try:
        text = decode(path.read_bytes(), path)
    except OSError as exc:
        raise fail(
            f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    header = [name.strip().lower() for name in lines[0].split(",")] if lines else []
    try:
        code_at, day_at, factor_at = (
            header.index(n) for n in ("ts_code", "trade_date", "adj_factor")
        )
    except ValueError:
        raise fail(
            f"{path} 不是复权因子文件（需要 ts_code,trade_date,adj_factor 列）",
            f"{path} is not an adj_factor file (needs ts_code,trade_date,adj_factor)",
        ) from None
    found: dict[str, list[tuple[int, float]]] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        try:
            code = parse_symbol(fields[code_at].strip()).full
            ordinal = stamp_of(fields[day_at]) // 1440 + EPOCH_ORDINAL
            factor = float(fields[factor_at])
        except (ValueError, IndexError, DomainError):
            raise fail(
                f"{path} 第 {number} 行无法读取：{line[:80]}", f"{path} line {number}: {line[:80]}"
            ) from None
        if not factor > 0:
            raise fail(f"{path} 第 {number} 行复权因子不为正", f"{path} line {number}: factor <= 0")
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
        stamp = (local.date().toordinal() - EPOCH_ORDINAL) * 1440 + minutes
        stamps, values = grouped.setdefault(str(row["symbol"]), ([], []))
        stamps.append(stamp)
        values.append(tuple(float(row[name]) for name in FIELDS))
    series = []
    for code, (stamps, values) in grouped.items():
        one, _ = checked(
            parse_symbol(code), np.array(stamps, dtype=np.int64),
            np.array(values, dtype=np.float64), 0, 1.0, 1.0, Path(f"database:{code}"),
        )  # fmt: skip
        if one is not None:
            one.path = None
            series.append(one)
    if not series:
        raise fail(f"数据库里没有 {freq} 行情", f"the database holds no {freq} bars")
    return assemble(series)


async def load_database_bars(session: Any, *, since: datetime, freq: str = "1d") -> MarketData:
    """Every stored bar of ``freq`` ending at ``since`` or later (``store.BarRepo.since``),
    for ``run_backtest(..., data=...)``; the config's codes and range then select."""
    from aigupiao.store.repositories.market import BarRepo

    rows = await BarRepo(session).since(freq, since)
    return from_rows(rows, freq=freq)
