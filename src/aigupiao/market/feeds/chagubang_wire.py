"""The chagubang (茶股帮) wire format, without I/O: frames, the pending inbox, records.

Frames are ``[4-byte little-endian length][UTF-8 payload]``, one record each:

* SH/SZ records: 33 fields separated by ``$`` (indexes from REFERENCE.md): 0 code with
  prefix (``SH600519``), 1 name, 2 unix time in seconds, 3 open, 4 high, 5 low, 6 last,
  7 volume in lots, 8 amount in CNY, 9-13 ask1-5 price, 14-18 ask1-5 volume in lots,
  19-23 bid1-5 price, 24-28 bid1-5 volume in lots, 29 turnover rate (unused),
  30 previous close, 31 limit up, 32 limit down.
* BSE records: JSON objects with ``stock_code``, ``time`` (unix milliseconds),
  ``lastPrice``, ``open``, ``high``, ``low``, ``lastClose``, ``volume``, ``amount`` and
  five-element lists ``askPrice``, ``bidPrice``, ``askVol``, ``bidVol``. The vendor does not
  state their units; we read prices and amounts as CNY and volumes as **shares** (the BSE
  quotes and trades in shares: orders go in steps of one share), and the multiplier is a
  parameter (``bse_volume_unit``) in case a vendor build sends lots. JSON numbers may have
  been binary floats on the vendor's side (``12.340000152587891``), so they are parsed
  straight to ``Decimal`` (never through ``float``) and rounded half up to 0.001 CNY. A BSE
  record carries no name and no price limits (``limit_up`` and ``limit_down`` are None);
  a ``stock_name`` or ``name`` key is used if present.

Normalised like every feed: prices and amounts ``Decimal`` in CNY, volumes in shares,
times aware in Beijing time. A price of 0 means "none": an empty book level is skipped,
and a zero limit becomes None. Index records (any code :func:`parse_symbol` maps to
``Board.INDEX``) parse like stocks; the feed keeps them apart.

Parsing is the hot path (a whole-market burst is ~18,000 records a second): fields are
split as bytes; prices, times, names and symbols are looked up in bounded caches keyed by
their raw bytes, so a price seen before costs one dict lookup; and what is unchanged since
the code's previous record (a whole side of the book, a level, the amount) is reused as is.
Where the C extension ``_chagubang_fast`` is built, SH/SZ records take its happy path first
(same caches, same classes, and anything unusual handed back to the Python code here, which
stays the reference). ``aigupiao bench chagubang`` measures it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from aigupiao.domain.errors import InvalidSymbol
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol, parse_symbol

MAX_FRAME = 1 << 20  # a record is a few hundred bytes; a longer length is a broken stream
FIELDS = 33
DEPTH = 5
LOT = 100  # SH/SZ volumes come in lots
AUTH_FAILED_TEXT = "Token鉴权失败"
# The rejection may come in UTF-8 or, from some server builds, in GBK.
_AUTH_MARKERS = tuple("鉴权失败".encode(encoding) for encoding in ("utf-8", "gbk"))
_HEADER = struct.Struct("<I")
_JSON_CODE = re.compile(rb'"stock_code"\s*:\s*"?([^",}\s]*)')
_ZERO = Decimal(0)
_MILLI = Decimal("0.001")
_CACHE_LIMIT = 200_000  # entries per cache before it is cleared (a few tens of MB at most)
# A side of the book as parsed: five levels (None where empty) and the published tuple.
_Side = tuple[list["Level | None"], tuple["Level", ...]]
_SideFields = tuple[tuple[int, int, int], ...]  # (slot, price field, volume field)
_BIDS: _SideFields = tuple((i, 19 + i, 24 + i) for i in range(DEPTH))
_ASKS: _SideFields = tuple((i, 9 + i, 14 + i) for i in range(DEPTH))
_NO_SIDE: _Side = ([None] * DEPTH, ())
# What a code's first record is compared with: fields that equal nothing.
_NO_BOOK: tuple[list[None], Decimal, _Side, _Side] = ([None] * FIELDS, _ZERO, _NO_SIDE, _NO_SIDE)
# Sanity bounds: a price below 10^8 CNY, an amount below 10^15 CNY (a whole day's
# market turnover is about 10^12).
_PRICE_DIGITS, _AMOUNT_DIGITS = 8, 15
_INT_LIMIT = 10**_AMOUNT_DIGITS
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800  # 2000-01-01 .. 2100-01-01, in unix seconds


# -- building quotes fast -------------------------------------------------------------
#
# Quote and Level are frozen dataclasses: their generated __init__ sets every field through
# object.__setattr__, which is half of the cost of a parsed record. A fresh instance that
# nobody else has seen yet can have its slots filled directly instead (what __init__ does,
# minus the Python frame and the attribute lookups). This is only done while the classes
# have exactly the fields below and no __post_init__; otherwise the real constructors are
# used, so a change to the domain model can make parsing slower but never wrong.

_LEVEL_FIELDS = ("price", "volume")
_QUOTE_FIELDS = (
    "symbol", "name", "ts", "last", "previous_close", "open", "high", "low", "volume", "amount",
    "bids", "asks", "limit_up", "limit_down", "no_limit",
)  # fmt: skip


def _fillable(cls: type, names: tuple[str, ...]) -> bool:
    return (
        dataclasses.is_dataclass(cls)
        and tuple(field.name for field in dataclasses.fields(cls)) == names
        and tuple(getattr(cls, "__slots__", ())) == names
        and not hasattr(cls, "__post_init__")
    )


def _level_maker() -> Callable[[Decimal, int], Level]:
    if not _fillable(Level, _LEVEL_FIELDS):
        return Level
    new = object.__new__
    set_price, set_volume = (getattr(Level, name).__set__ for name in _LEVEL_FIELDS)

    def make_level(price: Decimal, volume: int) -> Level:
        level = new(Level)
        set_price(level, price)
        set_volume(level, volume)
        return level

    return make_level


def _quote_maker() -> Callable[..., Quote]:
    if not _fillable(Quote, _QUOTE_FIELDS):
        return Quote
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14 = (
        getattr(Quote, name).__set__ for name in _QUOTE_FIELDS
    )

    def make_quote(
        symbol: Symbol, name: str, ts: datetime, last: Decimal, previous_close: Decimal,
        open_: Decimal, high: Decimal, low: Decimal, volume: int, amount: Decimal,
        bids: tuple[Level, ...], asks: tuple[Level, ...],
        limit_up: Decimal | None, limit_down: Decimal | None, no_limit: bool = False,
    ) -> Quote:  # fmt: skip
        quote = new(Quote)
        s0(quote, symbol)
        s1(quote, name)
        s2(quote, ts)
        s3(quote, last)
        s4(quote, previous_close)
        s5(quote, open_)
        s6(quote, high)
        s7(quote, low)
        s8(quote, volume)
        s9(quote, amount)
        s10(quote, bids)
        s11(quote, asks)
        s12(quote, limit_up)
        s13(quote, limit_down)
        s14(quote, no_limit)
        return quote

    return make_quote


make_level = _level_maker()
make_quote = _quote_maker()

try:  # the compiled happy path (_chagubang_fast.c), built at install time where a C compiler is
    from ._chagubang_fast import FastParser as _FastParser
except ImportError:  # pragma: no cover - depends on the installation
    _FastParser = None


class ProtocolError(Exception):
    """The byte stream is not a sequence of frames (zero or absurd length)."""


class AuthRejected(Exception):
    """The server refused the token (its reply contains 鉴权失败)."""


class BadRecord(Exception):
    """One record cannot be parsed; ``reason`` is the key it is counted under."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def is_auth_rejection(data: bytes | bytearray) -> bool:
    return any(marker in data for marker in _AUTH_MARKERS)


def frame(payload: bytes) -> bytes:
    """``payload`` with its length header (what the server sends)."""
    return _HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Splits a byte stream into payloads, whatever the read boundaries.

    A frame split across reads waits in a buffer until its last byte arrives (appends
    are amortised, so a large frame read in small pieces costs no quadratic copying).
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._need = 0  # bytes the buffer must hold before a frame can complete

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet part of a complete frame."""
        return bytes(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """The complete payloads in ``data`` (plus what was buffered before it).

        Raises:
            ProtocolError: a length of zero or above ``max_frame``; the offending bytes
                stay in :attr:`buffered`.
        """
        if self._buffer:
            self._buffer += data
            if len(self._buffer) < self._need:
                return []
            data = bytes(self._buffer)
            self._buffer.clear()
        payloads: list[bytes] = []
        unpack, limit = _HEADER.unpack_from, self.max_frame
        pos, end = 0, len(data)
        while end - pos >= 4:
            (size,) = unpack(data, pos)
            if size == 0 or size > limit:
                self._buffer = bytearray(data[pos:])
                self._need = 0
                raise ProtocolError(f"frame length {size} (allowed 1..{limit})")
            stop = pos + 4 + size
            if stop > end:
                self._need = stop - pos
                break
            payloads.append(data[pos + 4 : stop])
            pos = stop
        else:
            self._need = 4
        if pos < end:
            self._buffer += data[pos:]
        return payloads


class Inbox:
    """Records waiting to be parsed: the newest one per code, oldest code first.

    A newer record of a code replaces a pending older one (a snapshot supersedes the
    previous: volume and amount are cumulative), so the inbox never holds more than one
    record per code however far parsing falls behind.
    """

    def __init__(self) -> None:
        self._records: dict[bytes, bytes] = {}
        self.superseded = 0  # records replaced by a newer one before they were parsed

    def __len__(self) -> int:
        return len(self._records)

    def put(self, payloads: list[bytes]) -> None:
        """Queue ``payloads``.

        Raises:
            AuthRejected: one of them is the server's token rejection.
        """
        records = self._records
        replaced = 0
        for payload in payloads:
            # Fast path: SH/SZ codes are eight characters (SH600519) followed by '$'.
            key = payload[:8] if payload[8:9] == b"$" else _key(payload)
            size = len(records)
            records[key] = payload
            replaced += len(records) == size
        self.superseded += replaced

    def take(self, limit: int) -> list[bytes]:
        """Up to ``limit`` records, oldest first, removed from the inbox."""
        records = self._records
        if len(records) <= limit:
            self._records = {}
            return list(records.values())
        keys = list(records)[:limit]
        return [records.pop(key) for key in keys]


def _key(payload: bytes) -> bytes:
    """The coalescing key of an unusual payload: its code, else the payload itself."""
    dollar = payload.find(b"$", 0, 32)
    if dollar > 0:
        return payload[:dollar]
    if payload.lstrip()[:1] == b"{":
        match = _JSON_CODE.search(payload)
        return b"json:" + match[1] if match else payload
    if is_auth_rejection(payload):
        raise AuthRejected(payload.decode("utf-8", "replace"))
    return payload


class _Prices(dict[bytes, Decimal]):
    """Raw price bytes -> Decimal, validated once per distinct text."""

    def __missing__(self, raw: bytes) -> Decimal:
        if not raw:
            value = _ZERO  # some builds leave empty book levels blank
        else:
            try:
                value = Decimal(raw.decode("ascii"))
            except (UnicodeDecodeError, InvalidOperation):
                raise BadRecord("not_a_number", repr(raw)) from None
            if not value.is_finite() or value < 0 or value.adjusted() >= _PRICE_DIGITS:
                raise BadRecord("not_a_number", repr(raw))
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[raw] = value
        return value


class _Times(dict[bytes, datetime]):
    """Raw unix seconds -> aware Beijing time."""

    def __missing__(self, raw: bytes) -> datetime:
        try:
            seconds = int(raw)
        except ValueError:
            raise BadRecord("bad_time", repr(raw)) from None
        if not _EARLIEST <= seconds < _LATEST:
            raise BadRecord("bad_time", repr(raw))
        if len(self) >= 4096:
            self.clear()
        value = self[raw] = datetime.fromtimestamp(seconds, BEIJING)
        return value


def _shares(raw: bytes, unit: int) -> int:
    """A volume field in shares: ``raw`` counts ``unit`` shares each (``12345`` or ``12345.0``)."""
    try:
        count = int(raw)
    except ValueError:
        try:
            exact = Decimal(raw.decode("ascii"))
        except (UnicodeDecodeError, InvalidOperation):
            raise BadRecord("not_a_number", repr(raw)) from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise BadRecord("not_a_number", repr(raw)) from None
        count = int(exact)
    if count < 0:
        raise BadRecord("not_a_number", repr(raw))
    return count * unit


def _amount(raw: bytes) -> Decimal:
    try:
        value = Decimal(raw.decode("ascii"))
    except (UnicodeDecodeError, InvalidOperation):
        raise BadRecord("not_a_number", repr(raw)) from None
    if not value.is_finite() or value < 0 or value.adjusted() >= _AMOUNT_DIGITS:
        raise BadRecord("not_a_number", repr(raw))
    return value


class RecordParser:
    """Turns one record's payload into a :class:`Quote` (stocks, funds and indexes alike).

    Keeps caches across calls, so use one parser per stream. Besides the bounded caches it
    keeps each code's previous record: about 20 MB in all for the whole market.
    """

    def __init__(self, *, bse_volume_unit: int = 1, accelerated: bool = True) -> None:
        self.bse_volume_unit = bse_volume_unit
        self._prices = _Prices()
        self._times = _Times()
        self._symbols: dict[bytes, Symbol] = {}
        self._names: dict[bytes, str] = {}
        self._json_numbers = _JsonNumbers()
        # Per code: the previous record's fields, amount, bids and asks.
        self._books: dict[bytes, tuple[list[bytes] | list[None], Decimal, _Side, _Side]] = {}
        self._fast = self._accelerator() if accelerated else None

    @property
    def accelerated(self) -> bool:
        """Whether SH/SZ records go through the compiled parser first."""
        return self._fast is not None

    def _accelerator(self) -> Callable[[bytes], Quote | None] | None:
        """The compiled parser's ``parse`` sharing this parser's caches, or None if the
        extension is not built (or the domain classes no longer have the slots it fills)."""
        if _FastParser is None or make_quote is Quote or make_level is Level:
            return None
        fast = _FastParser(
            quote_type=Quote,
            level_type=Level,
            prices=self._prices,
            times=self._times,
            symbols=self._symbols,
            names=self._names,
            symbol_of=self._symbol,
            name_of=self._name,
            amount_of=_amount,
        )
        parse: Callable[[bytes], Quote | None] = fast.parse
        return parse

    def parse(self, payload: bytes) -> Quote:
        """The quote in ``payload``.

        SH/SZ records go through the compiled parser when it is built; it hands anything
        unusual back here, so both paths give the same quote or the same refusal.

        Raises:
            BadRecord: with ``reason`` one of ``field_count``, ``not_a_number``,
                ``bad_time``, ``unknown_code``, ``not_utf8``, ``bad_json``,
                ``missing_field``.
        """
        if self._fast is not None:
            quote = self._fast(payload)
            if quote is not None:
                return quote
        f = payload.split(b"$")
        if len(f) != FIELDS:
            if payload.lstrip()[:1] == b"{":
                return self._parse_bse(payload)
            raise BadRecord("field_count", f"{len(f)} fields, expected {FIELDS}")
        code = f[0]
        symbol = self._symbols.get(code) or self._symbol(code)
        name = self._names.get(f[1]) or self._name(f[1])
        prices = self._prices
        try:
            volume = int(f[7]) * LOT
        except ValueError:
            volume = _shares(f[7], LOT)
        if volume < 0:
            raise BadRecord("not_a_number", repr(f[7]))
        limit_up = prices[f[31]]
        limit_down = prices[f[32]]
        # Most of a book is unchanged three seconds later (73% of the levels in a real
        # series), so what equals the previous record of the code is taken from it.
        before, old_amount, old_bids, old_asks = self._books.get(code) or _NO_BOOK
        amount = old_amount if f[8] == before[8] else _amount(f[8])
        bids = old_bids if f[19:29] == before[19:29] else self._side(f, before, old_bids, _BIDS)
        asks = old_asks if f[9:19] == before[9:19] else self._side(f, before, old_asks, _ASKS)
        self._books[code] = (f, amount, bids, asks)
        return make_quote(
            symbol,
            name,
            self._times[f[2]],
            prices[f[6]],
            prices[f[30]],
            prices[f[3]],
            prices[f[4]],
            prices[f[5]],
            volume,
            amount,
            bids[1],
            asks[1],
            limit_up if limit_up else None,
            limit_down if limit_down else None,
        )

    def _side(
        self, f: list[bytes], before: list[bytes] | list[None], old: _Side, fields: _SideFields
    ) -> _Side:
        """One side of the book: its five levels (None where empty: a zero price or
        volume) and the tuple of the others. A level whose fields are unchanged is reused."""
        prices, old_levels = self._prices, old[0]
        levels: list[Level | None] = [None] * DEPTH
        for slot, at_price, at_volume in fields:
            raw_price, raw_volume = f[at_price], f[at_volume]
            if raw_price == before[at_price] and raw_volume == before[at_volume]:
                levels[slot] = old_levels[slot]
                continue
            # The book moved a tick: the level may sit one place up or down.
            if slot and raw_price == before[at_price - 1] and raw_volume == before[at_volume - 1]:
                levels[slot] = old_levels[slot - 1]
                continue
            if (
                slot < DEPTH - 1
                and raw_price == before[at_price + 1]
                and raw_volume == before[at_volume + 1]
            ):
                levels[slot] = old_levels[slot + 1]
                continue
            price = prices[raw_price]
            if price:
                try:
                    volume = int(raw_volume) * LOT
                except ValueError:
                    volume = _shares(raw_volume, LOT)
                if volume > 0:
                    levels[slot] = make_level(price, volume)
        return levels, tuple(filter(None, levels))

    def _symbol(self, raw: bytes) -> Symbol:
        try:
            symbol = parse_symbol(raw.decode("ascii"))
        except (UnicodeDecodeError, InvalidSymbol):
            raise BadRecord("unknown_code", repr(raw)) from None
        if len(self._symbols) >= _CACHE_LIMIT:
            self._symbols.clear()
        self._symbols[raw] = symbol
        return symbol

    def _name(self, raw: bytes) -> str:
        try:
            name = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BadRecord("not_utf8", repr(raw)) from None
        if len(self._names) >= _CACHE_LIMIT:
            self._names.clear()
        self._names[raw] = name
        return name

    # -- BSE ---------------------------------------------------------------------------

    def _parse_bse(self, payload: bytes) -> Quote:
        try:
            record = json.loads(payload, parse_float=self._json_numbers.__getitem__)
        except (UnicodeDecodeError, ValueError):
            raise BadRecord("bad_json", payload[:60].decode("utf-8", "replace")) from None
        if not isinstance(record, dict):
            raise BadRecord("bad_json", "not an object")
        try:
            code = record["stock_code"]
            raw_code = (f"{code:06d}" if type(code) is int else str(code)).strip().encode()
            symbol = self._symbols.get(raw_code) or self._symbol(raw_code)
            millis = record["time"]
            if type(millis) is not int or not _EARLIEST * 1000 <= millis < _LATEST * 1000:
                raise BadRecord("bad_time", repr(millis))
            unit = self.bse_volume_unit
            return make_quote(
                symbol,
                str(record.get("stock_name") or record.get("name") or ""),
                datetime.fromtimestamp(millis // 1000, BEIJING).replace(
                    microsecond=millis % 1000 * 1000
                ),
                _json_decimal(record["lastPrice"]),
                _json_decimal(record["lastClose"]),
                _json_decimal(record["open"]),
                _json_decimal(record["high"]),
                _json_decimal(record["low"]),
                _json_count(record["volume"]) * unit,
                _json_decimal(record["amount"]),
                _json_side(record["bidPrice"], record["bidVol"], unit),
                _json_side(record["askPrice"], record["askVol"], unit),
                None,
                None,
            )
        except KeyError as exc:
            raise BadRecord("missing_field", str(exc)) from None


class _JsonNumbers(dict[str, Decimal]):
    """The text of a JSON number with a fraction -> Decimal, validated once per text.

    The vendor's numbers may have passed through binary floats (``12.340000152587891``),
    so they are rounded half up to 0.001 CNY: finer than any tick, coarser than the noise.
    """

    def __missing__(self, text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise BadRecord("not_a_number", text) from None
        if not value.is_finite() or value < 0 or value.adjusted() >= _AMOUNT_DIGITS:
            raise BadRecord("not_a_number", text)
        value = value.quantize(_MILLI, rounding=ROUND_HALF_UP)
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[text] = value
        return value


def _json_decimal(value: object) -> Decimal:
    """A JSON price or amount (already a Decimal unless written as an integer)."""
    if type(value) is Decimal:
        return value
    if type(value) is int and 0 <= value < _INT_LIMIT:
        return Decimal(value)
    raise BadRecord("not_a_number", repr(value))


def _json_count(value: object) -> int:
    """A JSON volume: a non-negative whole number."""
    if type(value) is int and 0 <= value < _INT_LIMIT:
        return value
    if type(value) is Decimal and value == value.to_integral_value():
        return int(value)
    raise BadRecord("not_a_number", repr(value))


def _json_side(prices: object, volumes: object, unit: int) -> tuple[Level, ...]:
    if type(prices) is not list or type(volumes) is not list or len(prices) != len(volumes):
        raise BadRecord("not_a_number", "book levels are not two lists of the same length")
    levels = []
    for raw_price, raw_volume in zip(prices, volumes, strict=True):
        price, volume = _json_decimal(raw_price), _json_count(raw_volume) * unit
        if price and volume > 0:
            levels.append(make_level(price, volume))
    return tuple(levels)
