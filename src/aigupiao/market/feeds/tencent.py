"""The ``tencent`` feed: Level-1 quotes polled from ``qt.gtimg.cn/q=sh600000,sz000001``.

The answer is GBK text, one record a line::

    v_sh600000="1~浦发银行~600000~12.45~11.96~12.05~920308~...~13.16~10.76~...";

``~``-separated, about 88 fields today (49 or more are needed). The fields used:

====  =========================================================================
0     market (1 SH, 51 SZ, 62 BJ)
1, 2  name, six-digit code
3, 4  last, previous close
5     open
6     volume: lots (100 shares), except STAR (688/689), where it is shares
9-18  bid1..bid5 as (price, volume in lots) pairs
19-28 ask1..ask5, the same
30    time, ``YYYYMMDDhhmmss`` Beijing time
33-34 high, low
35    ``last/volume/amount``: the amount in CNY, exact (preferred)
37    amount in 10,000 CNY (used when field 35 is unusable)
47-48 limit up, limit down; ``-1`` for a suspended or delisted security and an index
====  =========================================================================

An unknown code comes back as ``v_pv_none_match="1";`` (counted as ``empty``). A security
with limits of ``-1`` and no volume is suspended or delisted (counted as ``suspended``); one
that trades with ``-1`` is published without limits: an index, or a listing in its days
without a limit, whose quote says so (``no_limit``) so that nobody works out limits the
exchange does not apply.
The rest of the rules are the shared ones of :mod:`.polling`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from aigupiao.domain.market import Quote
from aigupiao.domain.symbols import Board

from .polling import (
    HttpPollingFeed,
    ParsedBody,
    RecordError,
    beijing_time,
    book,
    parse_records,
    price,
    settle,
    symbol_of,
    whole,
)

MAX_CODES = 60  # per request: what the page's long-time users batch (easyquotation)
MIN_FIELDS = 49
LOT = 100
_RECORD = re.compile(r'v_(\w+)="([^"]*)"')
_UNKNOWN_KEY = "pv_none_match"


def parse_tencent(text: str) -> ParsedBody:
    """Every ``v_xxx="...";`` record in a decoded answer."""
    return parse_records(
        ((m.group(0), m.group(1), m.group(2)) for m in _RECORD.finditer(text)),
        parse_tencent_record,
    )


def parse_tencent_record(key: str, body: str) -> Quote:
    """One record (``key`` like ``sh600000``, ``body`` the text between the quotes).

    Raises:
        RecordError: with ``reason`` ``empty``, ``suspended``, ``no_trade`` or ``malformed``.
    """
    if key == _UNKNOWN_KEY or not body.strip():
        raise RecordError("empty", f"no data for {key}")
    symbol = symbol_of(key)
    fields = body.split("~")
    if len(fields) < MIN_FIELDS:
        raise RecordError("malformed", f"{len(fields)} fields, {MIN_FIELDS} needed")
    if fields[2].strip() != symbol.code:
        raise RecordError("malformed", f"record for {fields[2]!r} under {key}")
    ts = beijing_time(fields[30], "%Y%m%d%H%M%S")  # also catches a record with shifted fields
    star = symbol.board is Board.STAR
    volume = whole(fields[6], "volume") * (1 if star else LOT)
    limit_up = price(fields[47], "limit up", allow_negative=True)
    limit_down = price(fields[48], "limit down", allow_negative=True)
    unlimited = limit_up <= 0 or limit_down <= 0
    if volume == 0 and unlimited and symbol.board is not Board.INDEX:
        raise RecordError("suspended", f"{key} has limits {fields[47]}/{fields[48]}, no volume")
    return settle(
        symbol=symbol,
        name=fields[1].strip(),
        ts=ts,
        last=price(fields[3], "last"),
        previous_close=price(fields[4], "previous close"),
        open=price(fields[5], "open"),
        high=price(fields[33], "high"),
        low=price(fields[34], "low"),
        volume=volume,
        amount=_amount(fields),
        bids=book(_level(fields, i) for i in range(9, 19, 2)),
        asks=book(_level(fields, i) for i in range(19, 29, 2)),
        limit_up=None if unlimited else limit_up,
        limit_down=None if unlimited else limit_down,
        no_limit=unlimited and symbol.board is not Board.INDEX,
    )


def _level(fields: list[str], at: int) -> tuple[Decimal, int]:
    return price(fields[at], "book price"), whole(fields[at + 1], "book volume") * LOT


def _amount(fields: list[str]) -> Decimal:
    """CNY: the exact third part of field 35, else field 37 (in 10,000 CNY)."""
    parts = fields[35].split("/")
    if len(parts) == 3:
        try:
            return price(parts[2], "amount")
        except RecordError:
            pass
    return price(fields[37], "amount") * 10_000


class TencentFeed(HttpPollingFeed):
    """Polls ``https://qt.gtimg.cn/q=...``: at most 60 codes a request, no header needed."""

    name = "tencent"
    path = "/q="
    default_base_url = "https://qt.gtimg.cn"
    max_batch = MAX_CODES

    def parse_body(self, text: str) -> ParsedBody:
        return parse_tencent(text)
