"""The ``sina`` feed: Level-1 quotes polled from ``hq.sinajs.cn/list=sh600000,sz000001``.

The page answers 403 unless the request carries ``Referer: https://finance.sina.com.cn/``.
The answer is GBK text, one record a line::

    var hq_str_sh600000="浦发银行,11.510,11.490,11.560,...,2019-07-16,15:00:00,00";

``,``-separated, 33 fields (some answers end with an extra empty one after a trailing comma):

=======  ======================================================================
0        name
1, 2     open, previous close
3        last
4, 5     high, low
6, 7     best bid, best ask (repeated in the book below; not used)
8        volume in shares (an SH index: lots)
9        amount in CNY
10-19    bid1..bid5 as (volume in shares, price) pairs
20-29    ask1..ask5, the same
30, 31   date ``YYYY-MM-DD``, time ``hh:mm:ss``, Beijing time
32       status: ``00`` trading; anything else (``03`` suspended, ``-3`` delisted, ...)
=======  ======================================================================

An unknown or delisted code comes back empty (``var hq_str_sh600999="";``, counted as
``empty``); a status other than ``00`` is counted as ``suspended``. Before the first trade of
the day last/open/high/low are ``0.000`` (see the no-trade rule in :mod:`.polling`). Sina
sends no price limits: quotes carry none, and users of a quote compute them from the previous
close when they need them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import ClassVar

from aigupiao.domain.market import Quote
from aigupiao.domain.symbols import Board, Exchange

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

MAX_CODES = 800  # per request; the URL is then about 7 KB
MIN_FIELDS = 33
REFERER = "https://finance.sina.com.cn/"
TRADING = "00"
_RECORD = re.compile(r'var hq_str_(\w+)="([^"]*)"')


def parse_sina(text: str) -> ParsedBody:
    """Every ``var hq_str_xxx="...";`` record in a decoded answer."""
    return parse_records(
        ((m.group(0), m.group(1), m.group(2)) for m in _RECORD.finditer(text)),
        parse_sina_record,
    )


def parse_sina_record(key: str, body: str) -> Quote:
    """One record (``key`` like ``sh600000``, ``body`` the text between the quotes).

    Raises:
        RecordError: with ``reason`` ``empty``, ``suspended``, ``no_trade`` or ``malformed``.
    """
    if not body.strip():
        raise RecordError("empty", f"no data for {key}")
    symbol = symbol_of(key)
    fields = body.split(",")
    if len(fields) < MIN_FIELDS:
        raise RecordError("malformed", f"{len(fields)} fields, {MIN_FIELDS} needed")
    status = fields[32].strip()
    if status != TRADING:
        raise RecordError("suspended", f"{key} has status {status!r}")
    volume = whole(fields[8], "volume")
    if symbol.board is Board.INDEX and symbol.exchange is Exchange.SH:
        volume *= 100  # Shanghai indexes count lots here (Shenzhen ones count shares)
    return settle(
        symbol=symbol,
        name=fields[0].strip(),
        ts=beijing_time(f"{fields[30].strip()} {fields[31].strip()}", "%Y-%m-%d %H:%M:%S"),
        last=price(fields[3], "last"),
        previous_close=price(fields[2], "previous close"),
        open=price(fields[1], "open"),
        high=price(fields[4], "high"),
        low=price(fields[5], "low"),
        volume=volume,
        amount=price(fields[9], "amount"),
        bids=book(_level(fields, i) for i in range(10, 20, 2)),
        asks=book(_level(fields, i) for i in range(20, 30, 2)),
    )


def _level(fields: list[str], at: int) -> tuple[Decimal, int]:
    return price(fields[at + 1], "book price"), whole(fields[at], "book volume")


class SinaFeed(HttpPollingFeed):
    """Polls ``https://hq.sinajs.cn/list=...``: at most 800 codes a request, with the Referer."""

    name = "sina"
    path = "/list="
    default_base_url = "https://hq.sinajs.cn"
    max_batch = MAX_CODES
    extra_headers: ClassVar[dict[str, str]] = {"Referer": REFERER}

    def parse_body(self, text: str) -> ParsedBody:
        return parse_sina(text)
