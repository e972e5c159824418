"""The ``replay`` feed: historical bars or Level-1 snapshots from files, as quotes.

``ReplayFeed(path, speed)`` reads one file, or every ``.csv``/``.txt``/``.parquet``
file below a folder, read in place (Parquet needs ``pip install aigupiao[parquet]``).
The layout is recognised from the header, columns by name (their order does not
matter); units become shares and CNY and rows are sorted by time
(``../shared/data/README.md`` describes the real files):

===========  ===============================================================  =======  ==========
layout       header (any order; extra columns ignored)                        volume   amount
===========  ===============================================================  =======  ==========
plain        ``date,open,high,low,close,volume[,amount]`` (1a; 1c: close      shares   CNY (1a:
             before low, newest first)                                                 none, 0)
tushare      ``,ts_code,trade_date,...,pre_close,...,vol,amount`` (1b);       lots     thousand
             ``code,date,close,open,high,low,volume,amount`` (1b's index)              CNY
akshare      Chinese headers, ``datetime``/``日期``, ``成交额`` (1d daily, 2b      lots     CNY
             minute bars)
minute       ``datetime,symbol,date,time,period,open,...,volume,amount`` (2a)  shares   CNY
snapshot     tushare ``get_realtime_quotes``: ``name,open,pre_close,price,     shares,  CNY,
             ...,b1_v,b1_p,...,a5_p,date,time,code`` (3; GBK or UTF-8)         book in  cumulative
                                                                               lots
===========  ===============================================================  =======  ==========

The symbol comes from a code column (``ts_code``, ``code``, ``symbol``, ``股票代码``)
or else from the file name (``consumer_600519.csv``, ``000001.SZ.csv``).

**Quotes.** A bar becomes the quote at its end (a date without a time is a daily bar,
ending 15:00): ``last`` is its close; ``open``, ``high``, ``low`` and the cumulative
volume and amount are the day's so far (a daily bar: its own). The previous close is
``pre_close`` when the file has it, else the last close of the day before in the same
file, else (the first day) the day's open. Bars carry no book and no limits (the
broker works them out). Minute bars whose ``open`` is 0.0 (akshare's quirk on older
days) keep the day's open from the first bar's close (the 09:30 bar is the opening
auction's print). Snapshots are published as they are, with their five levels; one
where nothing has traded yet is indicative (``open``, ``high``, ``low`` = ``last``)
if it shows a book and is not published (counted ``no_trade``) if it does not, as
the polling feeds do.

**Pace.** ``speed`` is market seconds per real second, counted in trading time only
(09:15-11:30 and 13:00-15:00 of trading days, as the
:class:`~aigupiao.core.clock.TradingDayClock` counts): at 60, 15-minute bars come
every 15 s and daily bars every 255 s; :data:`AS_FAST_AS_POSSIBLE` (0) does not
wait. A batch holds every quote of one timestamp.

**Clock.** The feed drives a :class:`~aigupiao.core.clock.ManualClock`
(``feed.clock``, or the one passed in): it is set to a batch's time just before the
batch is published, and stands still between batches. Build everything that reads
the market time (the cloud runtime, the paper broker, the agent) with that clock, so
they see the replayed time and judge the replayed quotes as current.
:meth:`ReplayFeed.load` reads the files and sets the clock to the first timestamp;
``run`` loads in a worker thread if that has not been done. Each ``run`` replays
from the start; at the end it logs so and waits for ``stop``.

**Bad rows** are counted in ``stats.refused`` by reason (``fields``, ``number``,
``date``, ``symbol``, ``price``, ``ohlc``, ``duplicate``, ``no_trade``; ``layout`` and
``unreadable`` for whole files in a folder) and logged once per reason with the file
and line (:class:`~aigupiao.core.logging.QuietLog`). A missing path, no usable file at
all, or Parquet without pyarrow raise :class:`~.base.FeedError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import heapq
import importlib
import io
import logging
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from aigupiao.core.clock import ManualClock
from aigupiao.core.logging import QuietLog
from aigupiao.domain.errors import DomainError
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING, next_trading_day
from aigupiao.domain.symbols import Symbol, parse_symbol

from .base import FeedError, FeedStats, Publish

log = logging.getLogger(__name__)

AS_FAST_AS_POSSIBLE = 0.0
SUFFIXES = (".csv", ".txt", ".parquet")
DAILY_CLOSE = time(15, 0)
DEPTH = 5
# The trading sessions (TradingDayClock adds a quiet minute after the close, which carries
# no bars or snapshots to replay).
_SEGMENTS = ((time(9, 15), time(11, 30)), (time(13, 0), time(15, 0)))
_DAY_SECONDS = 8100 + 7200
_MAX_DECIMALS = 6
_INDEX_COLUMNS = frozenset({"", "unnamed: 0", "__index_level_0__"})
_CODE_IN_NAME = re.compile(
    r"(?<![0-9])(?:(sh|sz|bj)[._]?)?([0-9]{6})(?:\.(sh|sz|bj))?(?![0-9])", re.ASCII
)
_EPOCH = datetime(1970, 1, 1, tzinfo=BEIJING)
_UTC_OFFSET = 8 * 3600  # Beijing is UTC+8 all year: day numbers from epoch seconds


class Layout(StrEnum):
    PLAIN = "plain"
    TUSHARE = "tushare"
    AKSHARE = "akshare"
    MINUTE = "minute"
    SNAPSHOT = "snapshot"


# (volume unit, amount unit) in shares and CNY
_UNITS = {
    Layout.PLAIN: (Decimal(1), Decimal(1)),
    Layout.TUSHARE: (Decimal(100), Decimal(1000)),
    Layout.AKSHARE: (Decimal(100), Decimal(1)),
    Layout.MINUTE: (Decimal(1), Decimal(1)),
    Layout.SNAPSHOT: (Decimal(1), Decimal(1)),
}
_ALIASES = {
    "datetime": ("datetime", "时间"),
    "date": ("date", "trade_date", "日期", "交易日期"),
    "time": ("time",),
    "open": ("open", "开盘"),
    "high": ("high", "最高"),
    "low": ("low", "最低"),
    "close": ("close", "收盘", "price"),
    "pre_close": ("pre_close", "昨收"),
    "volume": ("volume", "vol", "成交量"),
    "amount": ("amount", "成交额"),
    "code": ("ts_code", "code", "symbol", "股票代码"),
    "name": ("name", "名称"),
}
_PLAIN = frozenset({"date", "open", "high", "low", "close", "volume"})
_TUSHARE_INDEX = ["code", "date", "close", "open", "high", "low", "volume", "amount"]
_BOOK = tuple(f"{side}{n}_{part}" for side in "ba" for part in "pv" for n in range(1, 6))


def detect_layout(header: Sequence[str]) -> Layout | None:
    """The layout of a header (see the module docstring); None if it is none of them."""
    names = [name for name in _names(header) if name not in _INDEX_COLUMNS]
    given = set(names)
    columns = _columns(names)
    if not {"open", "high", "low", "close", "volume"} <= columns.keys() or not (
        {"date", "datetime"} & columns.keys()
    ):
        return None
    if {"price", "pre_close", "date", "time", "code", *_BOOK} <= given:
        return Layout.SNAPSHOT
    if {"ts_code", "trade_date", "vol", "amount"} <= given or names == _TUSHARE_INDEX:
        return Layout.TUSHARE
    if {"datetime", "symbol", "period", "amount"} <= given:
        return Layout.MINUTE
    if {"成交额", "成交量", "股票代码", "日期", "时间"} & given:
        return Layout.AKSHARE
    if _PLAIN <= given <= _PLAIN | {"amount"}:
        return Layout.PLAIN
    return None


def market_seconds(start: datetime, end: datetime) -> float:
    """Trading-session seconds from ``start`` to ``end`` (09:15-11:30 and 13:00-15:00 of
    trading days), the time a :class:`~aigupiao.core.clock.TradingDayClock` would take."""
    if end <= start:
        return 0.0
    start, end = start.astimezone(BEIJING), end.astimezone(BEIJING)
    if start.date() == end.date():
        return _into_day(end.time()) - _into_day(start.time())
    seconds = _DAY_SECONDS - _into_day(start.time()) + _into_day(end.time())
    day = next_trading_day(start.date())
    while day < end.date():
        seconds += _DAY_SECONDS
        day = next_trading_day(day)
    return seconds


class ReplayFeed:
    """Quotes from historical files at ``speed`` market seconds per real second.

    Args:
        path: a file, or a folder of files (read recursively).
        speed: market seconds per real second; :data:`AS_FAST_AS_POSSIBLE` (0) for no waits.
        clock: the clock to drive (default: a new one, ``feed.clock``).
        names: security names by prefixed code, for files that have none.
    """

    name = "replay"

    def __init__(
        self,
        path: Path,
        speed: float = 60.0,
        clock: ManualClock | None = None,
        *,
        names: Mapping[str, str] | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.path = Path(path)
        self.speed = speed
        self.clock = clock if clock is not None else ManualClock(_EPOCH)
        self.stats = FeedStats()
        self.finished = False  # every record has been published
        self._names = dict(names or {})
        self._series: list[_Series] | None = None
        self._quiet = QuietLog(log)

    def load(self) -> list[str]:
        """Read the files (once) and set the clock to the first timestamp; returns the
        prefixed codes found, sorted.

        Raises:
            FeedError: the path does not exist, holds no usable file, or holds Parquet
                files and pyarrow is not installed.
        """
        if self._series is None:
            self._series = self._read_all()
            first = min((s.ts[0] for s in self._series), default=None)
            if first is not None:
                self.clock.set(datetime.fromtimestamp(first, BEIJING))
        return sorted({s.symbol.full for s in self._series})

    async def run(self, publish: Publish, stop: asyncio.Event) -> None:
        """Publish every timestamp's batch at its pace, then wait for ``stop``."""
        if self._series is None:
            await asyncio.to_thread(self.load)
        loop = asyncio.get_running_loop()
        started, elapsed = loop.time(), 0.0
        previous: datetime | None = None
        self.finished = False
        for moment, batch in self._batches():
            if stop.is_set():
                return
            if previous is not None and self.speed > 0:
                elapsed += market_seconds(previous, moment)
                delay = started + elapsed / self.speed - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                    if stop.is_set():
                        return
                else:
                    await asyncio.sleep(0)  # behind: catch up, but let the loop breathe
            else:
                await asyncio.sleep(0)
            self.clock.set(moment)
            self.stats.published += len(batch)
            publish(batch)
            previous = moment
        self.finished = True
        log.info("replay of %s finished: %d quotes", self.path, self.stats.published)
        await stop.wait()

    # -- reading ---------------------------------------------------------------------

    def _read_all(self) -> list[_Series]:
        path = self.path
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        else:
            raise FeedError(
                f"找不到回放文件或目录：{path}",
                f"no replay file or folder at {path}",
                code="replay_missing",
            )
        series: list[_Series] = []
        days: dict[str, set[int]] = {}  # the bar days of symbols found in more than one file
        by_symbol: dict[str, list[_Series]] = {}
        for file in files:
            try:
                found = self._read_file(file)
            except _FileRefused as refused:
                if len(files) == 1:
                    raise FeedError(refused.zh, refused.en, code="replay_unreadable") from None
                self._refuse(refused.reason, "%s", refused.en)
                continue
            for one in found:
                earlier = by_symbol.setdefault(one.symbol.full, [])
                if earlier and one.book is None:  # a day's bars come from the first file only
                    seen = days.get(one.symbol.full)
                    if seen is None:
                        seen = days[one.symbol.full] = {d for e in earlier for d in e.days()}
                    one = self._without(one, seen, file)
                    seen.update(one.days())
                if len(one.ts):
                    earlier.append(one)
                    series.append(one)
        if not series:
            raise FeedError(
                f"{path} 中没有可回放的行情（CSV/Parquet，已知格式）",
                f"nothing to replay in {path} (CSV/Parquet in a known layout)",
                code="replay_empty",
            )
        return series

    def _without(self, one: _Series, days: set[int], path: Path) -> _Series:
        """``one`` without its bars of ``days`` (counted as duplicates)."""
        keep = [i for i, day in enumerate(one.days()) if day not in days]
        dropped = len(one.ts) - len(keep)
        if dropped:
            self.stats.refused["duplicate"] += dropped
            self._quiet.warning(
                "replay:duplicate",
                "replay: %s repeats days of %s read from another file: %d bars skipped",
                path, one.symbol.full, dropped,
            )  # fmt: skip
            one = one.subset(keep)
        return one

    def _read_file(self, path: Path) -> list[_Series]:
        header, rows = _read_table(path)
        layout = detect_layout(header)
        if layout is None:
            shown = ",".join(header)[:120]
            raise _FileRefused(
                "layout",
                f"无法识别的格式 {path}：表头 {shown}",
                f"{path}: not a known layout (header {shown})",
            )
        columns = _columns(_names(header))
        fallback = _symbol_from_name(path)
        if "code" not in columns and fallback is None:
            raise _FileRefused(
                "symbol",
                f"{path} 没有代码列，文件名里也没有证券代码",
                f"{path}: no code column and no security code in the file name",
            )
        parser = _RowParser(layout, columns, fallback, len(header))
        parsed: dict[str, list[_Row]] = {}
        symbols: dict[str, tuple[Symbol, str]] = {}
        for line, fields in rows:
            if not any(value.strip() for value in fields):
                continue
            try:
                symbol, name, row = parser.parse(fields)
            except _BadRow as bad:
                self._refuse(bad.reason, "%s:%d %s", path, line, bad)
                continue
            if row is None:
                self._refuse("no_trade", "%s:%d nothing traded and no book", path, line)
                continue
            parsed.setdefault(symbol.full, []).append(row)
            symbols.setdefault(symbol.full, (symbol, name))
        out = []
        for full, file_rows in parsed.items():
            symbol, name = symbols[full]
            file_rows.sort(key=lambda row: row.ts)  # stable: the first of equal times leads
            if layout is not Layout.SNAPSHOT:
                file_rows = self._unique(file_rows, path)
            out.append(_Series.build(symbol, name or self._names.get(full, ""), file_rows))
        return out

    def _unique(self, rows: list[_Row], path: Path) -> list[_Row]:
        kept: list[_Row] = []
        for row in rows:
            if kept and kept[-1].ts == row.ts:
                when = datetime.fromtimestamp(row.ts, BEIJING)
                self._refuse("duplicate", "%s: a second bar at %s (the first is kept)", path, when)
                continue
            kept.append(row)
        return kept

    def _refuse(self, reason: str, message: str, *args: object) -> None:
        self.stats.refused[reason] += 1
        self._quiet.warning(f"replay:{reason}", "replay: " + message, *args)

    # -- replaying -------------------------------------------------------------------

    def _batches(self) -> Iterator[tuple[datetime, list[Quote]]]:
        """Every quote in time order, one batch per timestamp."""
        series = self._series or []
        by_symbol: dict[str, _DayState] = {}  # one day state a symbol, across its files
        states = [by_symbol.setdefault(s.symbol.full, _DayState()) for s in series]
        cursors = [0] * len(series)
        heap = [(s.ts[0], k) for k, s in enumerate(series)]
        heapq.heapify(heap)
        while heap:
            moment = heap[0][0]
            when = datetime.fromtimestamp(moment, BEIJING)
            batch: list[Quote] = []
            while heap and heap[0][0] == moment:
                _, k = heapq.heappop(heap)
                one, index = series[k], cursors[k]
                batch.append(one.quote(index, when, states[k]))
                cursors[k] = index = index + 1
                if index < len(one.ts):
                    heapq.heappush(heap, (one.ts[index], k))
            yield when, batch


# -- rows ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """One parsed record: Decimals in CNY and shares, time in epoch seconds."""

    ts: int
    daily: bool
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    pre_close: Decimal
    volume: int
    amount: Decimal
    book: tuple[Decimal, ...] = ()  # bid prices, bid volumes, ask prices, ask volumes (shares)


class _BadRow(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class _FileRefused(Exception):
    def __init__(self, reason: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.reason, self.zh, self.en = reason, zh, en


class _RowParser:
    def __init__(
        self, layout: Layout, columns: dict[str, int], fallback: Symbol | None, width: int
    ) -> None:
        self.layout, self.columns, self.fallback, self.width = layout, columns, fallback, width
        self.volume_unit, self.amount_unit = _UNITS[layout]
        self.book = [columns[name] for name in _BOOK] if layout is Layout.SNAPSHOT else []
        self.symbols: dict[str, Symbol] = {}

    def parse(self, fields: Sequence[str]) -> tuple[Symbol, str, _Row | None]:
        """(symbol, name, row); the row is None for a snapshot with nothing to show."""
        if len(fields) < self.width:
            raise _BadRow("fields", f"{len(fields)} fields, expected {self.width}")
        columns = self.columns
        symbol = self._symbol(fields)
        name = fields[columns["name"]].strip() if "name" in columns else ""
        ts, daily = self._time(fields)
        number = self._number
        open_, high, low, close = (number(fields, key) for key in ("open", "high", "low", "close"))
        volume = number(fields, "volume") * self.volume_unit
        amount = number(fields, "amount") * self.amount_unit if "amount" in columns else Decimal(0)
        pre_close = number(fields, "pre_close") if "pre_close" in columns else Decimal(0)
        if volume < 0 or amount < 0 or pre_close < 0:
            raise _BadRow("number", "negative volume, amount or previous close")
        shares = int(volume.to_integral_value(ROUND_HALF_UP))
        if self.layout is Layout.SNAPSHOT:
            book = self._book(fields)
            if shares == 0:  # nothing traded yet: indicative with a book, else nothing
                if not any(book[5:10]) and not any(book[15:20]):
                    return symbol, name, None
                close = close if close > 0 else pre_close
                open_ = high = low = close
            row = _Row(ts, False, open_, high, low, close, pre_close, shares, amount, book)
            return symbol, name, self._checked(row)
        # Minute bars of some akshare days have open 0.0: "unknown", not a price.
        if open_ < 0 or (open_ == 0 and daily):
            raise _BadRow("price", f"open must be positive: {open_}")
        return (
            symbol,
            name,
            self._checked(_Row(ts, daily, open_, high, low, close, pre_close, shares, amount)),
        )

    @staticmethod
    def _checked(row: _Row) -> _Row:
        if min(row.high, row.low, row.close) <= 0:
            raise _BadRow(
                "price", f"prices must be positive: h {row.high} l {row.low} c {row.close}"
            )
        inside = [row.close] + ([row.open] if row.open > 0 else [])
        if not row.low <= min(inside) <= max(inside) <= row.high:
            raise _BadRow(
                "ohlc",
                f"high/low do not bracket open/close: o {row.open} h {row.high} "
                f"l {row.low} c {row.close}",
            )
        return row

    def _symbol(self, fields: Sequence[str]) -> Symbol:
        index = self.columns.get("code")
        text = fields[index].strip() if index is not None else ""
        if not text:
            if self.fallback is None:
                raise _BadRow("symbol", "no code")
            return self.fallback
        symbol = self.symbols.get(text)
        if symbol is None:
            code = text.zfill(6) if text.isdigit() else text  # codes read as numbers lose zeros
            try:
                symbol = self.symbols[text] = parse_symbol(code)
            except DomainError as exc:
                raise _BadRow("symbol", exc.message_en) from None
        return symbol

    def _time(self, fields: Sequence[str]) -> tuple[int, bool]:
        """(epoch seconds, daily?) of a row: the bar's end, or the snapshot's time."""
        columns = self.columns
        if "datetime" in columns:
            text = fields[columns["datetime"]].strip()
        else:
            text = fields[columns["date"]].strip()
            if "time" in columns:
                text = f"{text} {fields[columns['time']].strip()}"
        day, moment = _date_time(text)
        daily = moment is None
        when = datetime.combine(day, DAILY_CLOSE if moment is None else moment, BEIJING)
        return int(when.timestamp()), daily

    def _number(self, fields: Sequence[str], key: str) -> Decimal:
        text = fields[self.columns[key]].strip()
        if not text:
            if self.layout is Layout.SNAPSHOT and key not in ("close", "volume"):
                return Decimal(0)  # tushare writes a zero as an empty field
            raise _BadRow("number", f"{key} is empty")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise _BadRow("number", f"{key} is not a number: {text[:20]!r}") from None
        if not value.is_finite():
            raise _BadRow("number", f"{key} is not finite")
        return value

    def _book(self, fields: Sequence[str]) -> tuple[Decimal, ...]:
        values = []
        for position, index in enumerate(self.book):
            text = fields[index].strip()
            try:
                value = Decimal(text) if text else Decimal(0)
            except InvalidOperation:
                raise _BadRow("number", f"{_BOOK[position]} is not a number") from None
            if not value.is_finite() or value < 0:
                raise _BadRow("number", f"{_BOOK[position]} is not a volume or price")
            is_volume = position % 10 >= 5
            values.append(value * 100 if is_volume else value)  # book volumes are lots
        return tuple(values)


# -- the replayed series ------------------------------------------------------------------


@dataclass(slots=True)
class _DayState:
    """Where a series of bars is in its day."""

    day: int = -1  # Beijing day number
    open: Decimal = Decimal(0)
    high: int = 0
    low: int = 0
    volume: int = 0
    amount: int = 0
    previous_close: int = 0  # the day before's last close
    last_close: int = 0


@dataclass(slots=True)
class _Series:
    """One symbol's records, compactly: integers in units of 10**-price_places (prices)
    and 10**-amount_places (amounts), so a whole market's history fits in memory."""

    symbol: Symbol
    name: str
    price_places: int
    amount_places: int
    ts: array[int] = field(default_factory=lambda: array("q"))
    daily: array[int] = field(default_factory=lambda: array("b"))
    open: array[int] = field(default_factory=lambda: array("q"))
    high: array[int] = field(default_factory=lambda: array("q"))
    low: array[int] = field(default_factory=lambda: array("q"))
    close: array[int] = field(default_factory=lambda: array("q"))
    pre_close: array[int] = field(default_factory=lambda: array("q"))
    volume: array[int] = field(default_factory=lambda: array("q"))
    amount: array[int] = field(default_factory=lambda: array("q"))
    book: array[int] | None = None  # 20 a row, for snapshots

    @classmethod
    def build(cls, symbol: Symbol, name: str, rows: list[_Row]) -> _Series:
        prices = [v for r in rows for v in (r.open, r.high, r.low, r.close, r.pre_close)]
        prices += [v for r in rows for i, v in enumerate(r.book) if i % 10 < 5]
        one = cls(symbol, name, _places(prices), _places([r.amount for r in rows]))
        scale_price = Decimal(10) ** one.price_places
        scale_amount = Decimal(10) ** one.amount_places

        def scaled(value: Decimal, scale: Decimal) -> int:
            return int((value * scale).to_integral_value(ROUND_HALF_UP))

        if any(r.book for r in rows):
            one.book = array("q")
        for r in rows:
            one.ts.append(r.ts)
            one.daily.append(r.daily)
            for column, value in (
                (one.open, r.open), (one.high, r.high), (one.low, r.low),
                (one.close, r.close), (one.pre_close, r.pre_close),
            ):  # fmt: skip
                column.append(scaled(value, scale_price))
            one.volume.append(r.volume)
            one.amount.append(scaled(r.amount, scale_amount))
            if one.book is not None:
                one.book.extend(
                    scaled(v, scale_price) if i % 10 < 5 else int(v) for i, v in enumerate(r.book)
                )
        return one

    def days(self) -> Iterator[int]:
        """The Beijing day number of each row."""
        return ((ts + _UTC_OFFSET) // 86400 for ts in self.ts)

    def subset(self, keep: list[int]) -> _Series:
        """The same series with only the rows at ``keep``."""
        part = _Series(self.symbol, self.name, self.price_places, self.amount_places)
        for name in (
            "ts",
            "daily",
            "open",
            "high",
            "low",
            "close",
            "pre_close",
            "volume",
            "amount",
        ):
            source, target = getattr(self, name), getattr(part, name)
            target.extend(source[i] for i in keep)
        return part

    def quote(self, index: int, when: datetime, state: _DayState) -> Quote:
        price = self._price
        close, pre = self.close[index], self.pre_close[index]
        if self.book is not None:  # a snapshot: as it is
            return Quote(
                self.symbol, self.name, when, price(close), price(pre), price(self.open[index]),
                price(self.high[index]), price(self.low[index]), self.volume[index],
                self._amount(self.amount[index]), *self._levels(index), None, None,
            )  # fmt: skip
        open_, high, low = self.open[index], self.high[index], self.low[index]
        volume, amount = self.volume[index], self.amount[index]
        if self.daily[index]:
            previous = pre or state.last_close or open_
            state.day, state.last_close = -1, close
            return Quote(
                self.symbol, self.name, when, price(close), price(previous), price(open_),
                price(high), price(low), volume, self._amount(amount),
            )  # fmt: skip
        day = (self.ts[index] + _UTC_OFFSET) // 86400
        if day != state.day:
            state.day = day
            state.previous_close = pre or state.last_close or open_ or close
            state.open = price(open_ or close)  # open 0.0: the first bar is the auction
            state.high, state.low, state.volume, state.amount = high, low, 0, 0
        state.high, state.low = max(state.high, high), min(state.low, low)
        state.volume += volume
        state.amount += amount
        state.last_close = close
        return Quote(self.symbol, self.name, when, price(close), price(state.previous_close),
                     state.open, price(state.high), price(state.low), state.volume,
                     self._amount(state.amount))  # fmt: skip

    def _price(self, value: int) -> Decimal:
        return Decimal(value).scaleb(-self.price_places)

    def _amount(self, value: int) -> Decimal:
        return Decimal(value).scaleb(-self.amount_places)

    def _levels(self, index: int) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        assert self.book is not None
        row = self.book[index * 20 : index * 20 + 20]
        price = self._price
        bids = tuple(
            Level(price(p), v) for p, v in zip(row[0:5], row[5:10], strict=True) if p and v
        )
        asks = tuple(
            Level(price(p), v) for p, v in zip(row[10:15], row[15:20], strict=True) if p and v
        )
        return bids, asks


# -- helpers ------------------------------------------------------------------------------


def _names(header: Sequence[str]) -> list[str]:
    return [name.strip().lstrip("\ufeff").strip().lower() for name in header]


def _columns(names: Sequence[str]) -> dict[str, int]:
    """Canonical column name -> index (the first alias present wins)."""
    columns: dict[str, int] = {}
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in names:
                columns[key] = names.index(alias)
                break
    for name in _BOOK:
        if name in names:
            columns[name] = names.index(name)
    return columns


def _places(values: Iterable[Decimal]) -> int:
    """Decimal places needed to hold every value exactly (at most six)."""
    places = 0
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = min(_MAX_DECIMALS, -exponent)
    return places


def _date_time(text: str) -> tuple[date, time | None]:
    """``2025-01-02``, ``20190102``, ``2025/01/02``, with an optional time after a space or
    a ``T``; midnight counts as no time (a daily bar)."""
    day_text, _, clock_text = text.replace("T", " ").partition(" ")
    digits = day_text.replace("-", "").replace("/", "")
    try:
        if len(digits) != 8 or not digits.isdigit():
            raise ValueError(day_text)
        day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        clock_text = clock_text.strip()
        if not clock_text:
            return day, None
        parts = [int(float(part)) for part in clock_text.split(":")]
        moment = (
            time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0) if len(parts) > 1 else None
        )
    except ValueError:
        raise _BadRow("date", f"bad date or time {text[:30]!r}") from None
    if moment is None:
        raise _BadRow("date", f"bad time {text[:30]!r}")
    return day, (None if moment == time(0) else moment)


def _into_day(moment: time) -> float:
    """Session seconds of a day before ``moment``."""
    seconds = 0.0
    at = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    for start, end in _SEGMENTS:
        begin = start.hour * 3600 + start.minute * 60
        finish = end.hour * 3600 + end.minute * 60
        seconds += max(0.0, min(at, finish) - begin)
    return seconds


def _symbol_from_name(path: Path) -> Symbol | None:
    """The security a file is named after (``consumer_600519.csv``, ``000001.SZ.csv``)."""
    stem = path.name.lower()
    for suffix in SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    for match in _CODE_IN_NAME.finditer(stem):
        try:
            return parse_symbol(f"{match[1] or match[3] or ''}{match[2]}")
        except DomainError:
            continue
    return None


def _read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the (line number, fields) rows of a CSV or Parquet file."""
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _FileRefused(
            "unreadable", f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from None
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _FileRefused(
            "unreadable", f"{path} 既不是 UTF-8 也不是 GBK", f"{path} is neither UTF-8 nor GBK"
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise _FileRefused("layout", f"空文件：{path}", f"empty file: {path}")
    return header, ((line, row) for line, row in enumerate(reader, start=2))


def _read_parquet(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:  # an optional dependency: aigupiao[parquet]
        parquet: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise FeedError(
            f"读取 Parquet 文件需要 pyarrow，请运行 pip install aigupiao[parquet]（{path}）",
            f"reading Parquet needs pyarrow: pip install aigupiao[parquet] ({path})",
            code="replay_parquet",
        ) from None
    try:
        table = parquet.read_table(path)
    except (OSError, ValueError) as exc:
        raise _FileRefused(
            "unreadable", f"无法读取 {path}：{exc}", f"cannot read {path}: {exc}"
        ) from None
    header = [str(name) for name in table.column_names]
    columns = [[_cell(value) for value in column.to_pylist()] for column in table.columns]
    rows = ([column[i] for column in columns] for i in range(table.num_rows))
    return header, ((line, row) for line, row in enumerate(rows, start=2))


def _cell(value: object) -> str:
    """A Parquet value as the CSV text of the same layout would have it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)
