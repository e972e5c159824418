"""``aigupiao bench chagubang``: chagubang records split from the byte stream and parsed
into quotes per second, on one core.

The stream is a whole market: every SH/SZ stock of the real snapshot in ``../shared/data``
(ST included, padded with clones if the snapshot has fewer), about 5% BSE stocks of the
same snapshot as JSON records, and the main indexes, moving as the simulator
(:class:`~aigupiao.market.sim.SimMarket`) moves them, one snapshot every three seconds of a
trading morning. The simulator trades every symbol at every step and redraws every book
level; a real stream is quieter, which the parser's reuse of unchanged fields exploits.
:class:`Tape` therefore makes the stream quieter in the two ways measured on the one real
Level-1 series we have (:data:`QUIET_SHARE`, :data:`BOOK_PERSISTENCE`). The result keeps
both numbers: ``records_per_s`` on that stream, ``records_per_s_redrawn_books`` on the
simulator's raw output (the worst case: nothing repeats but the reference prices).

The encoded rounds are framed and concatenated, then cut into 64 KiB pieces (what one
socket read returns under load); the timed part is exactly the feed's reader and parser
work: :class:`FrameDecoder`, :class:`Inbox` and :class:`RecordParser` on each piece, cold
caches included.

:class:`Tape` is also what the tests' fake chagubang server sends.
"""

from __future__ import annotations

import csv
import dataclasses
import random
import time
from collections.abc import Iterator
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

from aigupiao.core.clock import ManualClock
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING, is_trading_day, next_trading_day
from aigupiao.domain.symbols import Board, Exchange, Symbol, parse_symbol
from aigupiao.market.feeds.chagubang_wire import (
    BadRecord,
    FrameDecoder,
    Inbox,
    RecordParser,
    frame,
)
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import (
    SPOT_FILE,
    SymbolInfo,
    default_shared_dir,
    load_universe,
)

READ_SIZE = 65_536
BSE_SHARE = 0.053  # 290 of the 5,483 stocks of the real snapshot
STEP_SECONDS = 3.0  # the exchanges' Level-1 snapshot interval
# From the only real Level-1 time series we have, 574 snapshots of 600122 about 3 s apart
# (../shared/data/quotes/fswzb_Debug_A): 37% follow no trade (same cumulative volume), 73%
# of the book levels are unchanged at the same position and 30% of the book sides are
# unchanged. The tape's quiet snapshots repeat the previous one whole (a real no-trade
# snapshot usually changes a level or two), and its active ones move more than the real
# stock did; measured on the tape: 66% of the levels and 64% of the sides unchanged.
QUIET_SHARE = 0.37
BOOK_PERSISTENCE = 0.8
INDEXES: tuple[tuple[str, str, str], ...] = (
    ("sh000001", "上证指数", "3346.80"),
    ("sh000016", "上证50", "2698.15"),
    ("sh000300", "沪深300", "3905.43"),
    ("sh000688", "科创50", "1012.66"),
    ("sh000905", "中证500", "5810.27"),
    ("sz399001", "深证成指", "10245.93"),
    ("sz399006", "创业板指", "2041.55"),
    ("sz399005", "中小100", "6288.02"),
)
_FALLBACK_BSE: tuple[tuple[str, str, str], ...] = (
    ("bj920000", "安徽凤凰", "18.98"),
    ("bj920001", "纬达光电", "18.13"),
    ("bj920002", "万达轴承", "36.50"),
)


def encode_record(quote: Quote, *, turnover: str = "0.52") -> bytes:
    """The 33-field ``$`` record of a SH/SZ quote (volumes in lots, time in whole seconds)."""
    asks, bids = _padded(quote.asks), _padded(quote.bids)
    fields = [
        f"{quote.symbol.exchange.value}{quote.symbol.code}",
        quote.name,
        str(int(quote.ts.timestamp())),
        str(quote.open),
        str(quote.high),
        str(quote.low),
        str(quote.last),
        str(quote.volume // 100),
        str(quote.amount),
        *(str(level.price) for level in asks),
        *(str(level.volume // 100) for level in asks),
        *(str(level.price) for level in bids),
        *(str(level.volume // 100) for level in bids),
        turnover,
        str(quote.previous_close),
        str(quote.limit_up or "0.00"),
        str(quote.limit_down or "0.00"),
    ]
    return "$".join(fields).encode("utf-8")


def encode_bse(quote: Quote) -> bytes:
    """The JSON record of a BSE quote (bare code, time in ms, volumes in shares)."""
    asks, bids = _padded(quote.asks), _padded(quote.bids)
    millis = int(quote.ts.timestamp() * 1000)

    def numbers(values: Iterator[object]) -> str:
        return "[" + ",".join(str(value) for value in values) + "]"

    # Decimal's str is a valid JSON number: the text is written as is, never via float.
    return (
        f'{{"stock_code":"{quote.symbol.code}","time":{millis},'
        f'"lastPrice":{quote.last},"open":{quote.open},"high":{quote.high},'
        f'"low":{quote.low},"lastClose":{quote.previous_close},'
        f'"volume":{quote.volume},"amount":{quote.amount},'
        f'"askPrice":{numbers(level.price for level in asks)},'
        f'"bidPrice":{numbers(level.price for level in bids)},'
        f'"askVol":{numbers(level.volume for level in asks)},'
        f'"bidVol":{numbers(level.volume for level in bids)}}}'
    ).encode()


def _padded(levels: tuple[Level, ...]) -> list[Level]:
    return [*levels, *(Level(Decimal("0.00"), 0) for _ in range(5 - len(levels)))]


class Tape:
    """Whole-market rounds of chagubang records, each with the quote the feed must produce.

    Args:
        symbols: SH/SZ stocks (the real snapshot's, then clones under unused codes).
        bse: BSE stocks (real codes from the snapshot); None takes all of them.
        indexes: index records per round (at most ``len(INDEXES)``).
        seed: the simulator's seed.
        quiet_share: the chance that a symbol did not trade since its previous snapshot,
            which is then sent again unchanged but for its time.
        book_persistence: the chance that a book level at the same position and price as in
            the previous snapshot keeps its volume (0: redrawn, as the simulator does).
        shared_dir: where the real snapshot is; default ``../shared``.
    """

    def __init__(
        self,
        symbols: int,
        *,
        bse: int | None = None,
        indexes: int = len(INDEXES),
        seed: int = 1,
        quiet_share: float = QUIET_SHARE,
        book_persistence: float = BOOK_PERSISTENCE,
        shared_dir: Path | None = None,
    ) -> None:
        shared = shared_dir or default_shared_dir()
        stocks = _stock_universe(shared, symbols)
        bse_infos = _bse_universe(shared, bse)
        index_infos = [
            SymbolInfo(parse_symbol(code), name, Decimal(close))
            for code, name, close in INDEXES[:indexes]
        ]
        self.universe = stocks + bse_infos + index_infos
        self.clock = ManualClock(_trading_morning(datetime.now(BEIJING).date()))
        self.quiet_share, self.book_persistence = quiet_share, book_persistence
        self._sim = SimMarket(self.universe, self.clock, seed=seed)
        self._rng = random.Random(seed)
        self._last: dict[str, Quote] = {}
        self.rounds = 0

    def next_round(self) -> list[tuple[Quote, bytes]]:
        """One snapshot of every symbol: (the quote the feed must produce, the payload)."""
        self.clock.advance(STEP_SECONDS)
        self.rounds += 1
        return [_encoded(self._realistic(quote)) for quote in self._sim.step()]

    def _realistic(self, quote: Quote) -> Quote:
        """The simulator trades every symbol at every step and redraws every book level;
        a real market is quieter (see :data:`QUIET_SHARE` and :data:`BOOK_PERSISTENCE`)."""
        previous = self._last.get(quote.symbol.full)
        if previous is not None:
            if self._rng.random() < self.quiet_share:
                quote = dataclasses.replace(previous, ts=quote.ts)
            elif self.book_persistence:
                quote = dataclasses.replace(
                    quote,
                    bids=self._kept(quote.bids, previous.bids),
                    asks=self._kept(quote.asks, previous.asks),
                )
        self._last[quote.symbol.full] = quote
        return quote

    def _kept(self, levels: tuple[Level, ...], before: tuple[Level, ...]) -> tuple[Level, ...]:
        """``levels``, where a price that was in the book before keeps its volume with
        probability :attr:`book_persistence` (orders rest at a price as the book moves)."""
        rng, keep = self._rng, self.book_persistence
        resting = {level.price: level for level in before}
        kept: list[Level] = []
        for level in levels:
            old = resting.get(level.price)
            kept.append(old if old is not None and rng.random() < keep else level)
        return tuple(kept)


def _encoded(quote: Quote) -> tuple[Quote, bytes]:
    """The payload of a simulated quote and the quote as the wire carries it back."""
    symbol = quote.symbol
    if symbol.board is Board.INDEX:
        quote = dataclasses.replace(quote, bids=(), asks=(), limit_up=None, limit_down=None)
    if symbol.exchange is Exchange.BJ:
        ts = quote.ts.replace(microsecond=quote.ts.microsecond // 1000 * 1000)
        expected = dataclasses.replace(quote, ts=ts, name="", limit_up=None, limit_down=None)
        return expected, encode_bse(expected)
    expected = dataclasses.replace(quote, ts=quote.ts.replace(microsecond=0))
    return expected, encode_record(expected)


def _trading_morning(today: date) -> datetime:
    day = today if is_trading_day(today) else next_trading_day(today)
    return datetime.combine(day, clock_time(9, 30), BEIJING)


def _stock_universe(shared: Path | None, count: int) -> list[SymbolInfo]:
    real = load_universe(shared, count, include_st=True)
    taken = {info.symbol.full for info in real}
    clones: list[SymbolInfo] = []
    number = 0
    while len(real) + len(clones) < count:
        code = f"sz00{number:04d}"
        number += 1
        if code in taken:
            continue
        model = real[len(clones) % len(real)]
        clones.append(SymbolInfo(parse_symbol(code), f"模拟{code[2:]}", model.previous_close))
    return real + clones


def _bse_universe(shared: Path | None, count: int | None) -> list[SymbolInfo]:
    """BSE stocks of the real snapshot (code, name, last price as previous close)."""
    rows: list[tuple[str, str, str]] = []
    path = shared / SPOT_FILE if shared is not None else None
    if path is not None and path.is_file():
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [
                (row["代码"], row["名称"].replace(" ", ""), row["最新价"])
                for row in csv.DictReader(handle)
                if row["代码"].startswith("bj") and Decimal(row["最新价"] or 0) > 0
            ]
    rows = rows or list(_FALLBACK_BSE)
    chosen = rows if count is None else rows[:count]
    infos = []
    for code, name, close in chosen:
        symbol: Symbol = parse_symbol(code)
        infos.append(SymbolInfo(symbol, name, Decimal(close).quantize(symbol.tick)))
    return infos


def run(
    records: int = 200_000, *, symbols: int = 5_500, seed: int = 1, distinct_rounds: int = 6
) -> dict[str, Any]:
    """Split and parse ``records`` records of a ~``symbols``-symbol market; one core, no I/O.

    Measured twice: on the realistic tape (:data:`QUIET_SHARE`, :data:`BOOK_PERSISTENCE`)
    for ``records_per_s``, and on the simulator's raw output, where every book level is
    redrawn at every snapshot, for ``records_per_s_redrawn_books`` (the worst case).
    """
    # The market's mix: about 5% BSE stocks, a handful of indexes, the rest SH/SZ.
    bse = max(1, round(symbols * BSE_SHARE))
    indexes = min(len(INDEXES), max(1, symbols // 500))
    stocks = max(1, symbols - bse - indexes)
    tape = Tape(stocks, bse=bse, indexes=indexes, seed=seed)
    result = _measure(tape, records, distinct_rounds)
    redrawn = Tape(
        stocks, bse=bse, indexes=indexes, seed=seed, quiet_share=0.0, book_persistence=0.0
    )
    worst = _measure(redrawn, records, distinct_rounds)
    return {
        "records": result["records"],
        "symbols": len(tape.universe),
        "bse_symbols": sum(1 for info in tape.universe if info.symbol.exchange is Exchange.BJ),
        "index_symbols": sum(1 for info in tape.universe if info.symbol.board is Board.INDEX),
        "bytes": result["bytes"],
        "parsed": result["parsed"],
        "indexes": result["indexes"],
        "refused": result["refused"],
        "superseded": result["superseded"],
        "seconds": round(result["seconds"], 4),
        "records_per_s": round(result["records"] / result["seconds"]),
        "us_per_record": round(result["seconds"] / result["records"] * 1e6, 3),
        "mb_per_s": round(result["bytes"] / result["seconds"] / 1e6, 1),
        "split_records_per_s": round(result["records"] / result["split_seconds"]),
        "records_per_s_redrawn_books": round(worst["records"] / worst["seconds"]),
    }


def _measure(tape: Tape, records: int, distinct_rounds: int) -> dict[str, Any]:
    per_round = len(tape.universe)
    wanted = max(1, min(distinct_rounds, -(-records // per_round)))
    rounds = [[payload for _, payload in tape.next_round()] for _ in range(wanted)]
    # The rounds are sent again in turn until there are enough records; a code's records
    # still change from one to the next, as on a live stream.
    payloads: list[bytes] = []
    while len(payloads) < records:
        payloads.extend(rounds[len(payloads) // per_round % len(rounds)])
    stream = b"".join(frame(payload) for payload in payloads[:records])
    pieces = [stream[at : at + READ_SIZE] for at in range(0, len(stream), READ_SIZE)]

    # Splitting alone: the reader task's work (frames, and the newest record per code).
    decoder, inbox = FrameDecoder(), Inbox()
    t0 = time.perf_counter()
    for piece in pieces:
        inbox.put(decoder.feed(piece))
        inbox.take(len(inbox))
    split_seconds = time.perf_counter() - t0

    # Splitting and parsing: the whole path from socket bytes to Quote objects.
    decoder, inbox, parser = FrameDecoder(), Inbox(), RecordParser()
    parsed = refused = indexes = 0
    t0 = time.perf_counter()
    for piece in pieces:
        inbox.put(decoder.feed(piece))
        for payload in inbox.take(len(inbox)):
            try:
                quote = parser.parse(payload)
            except BadRecord:
                refused += 1
                continue
            parsed += 1
            indexes += quote.symbol.board is Board.INDEX
    seconds = time.perf_counter() - t0
    return {
        "records": min(records, len(payloads)),
        "superseded": inbox.superseded,  # none unless a read holds a code twice (tiny markets)
        "bytes": len(stream),
        "parsed": parsed,
        "indexes": indexes,
        "refused": refused,
        "seconds": seconds,
        "split_seconds": split_seconds,
    }
