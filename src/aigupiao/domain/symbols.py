"""Securities: exchange, board, lot, tick and daily price limits.

A code without its exchange prefix is ambiguous (sh000001 is an index, sz000001
a stock), so a :class:`Symbol` always carries its exchange. Rules change with
the trading date, so every rule is a function of ``trading_date``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from .errors import InvalidSymbol
from .money import round_half_up


class Exchange(StrEnum):
    SH = "SH"
    SZ = "SZ"
    BJ = "BJ"


class Board(StrEnum):
    SH_MAIN = "sh_main"
    SZ_MAIN = "sz_main"
    CHINEXT = "chinext"
    STAR = "star"
    BSE = "bse"
    FUND = "fund"  # ETFs and LOFs
    INDEX = "index"


# (exchange, code prefix) -> board; the longest matching prefix wins.
_BOARD_PREFIXES: tuple[tuple[Exchange, str, Board], ...] = (
    (Exchange.SH, "600", Board.SH_MAIN),
    (Exchange.SH, "601", Board.SH_MAIN),
    (Exchange.SH, "603", Board.SH_MAIN),
    (Exchange.SH, "605", Board.SH_MAIN),
    (Exchange.SH, "688", Board.STAR),
    (Exchange.SH, "689", Board.STAR),
    (Exchange.SH, "5", Board.FUND),
    (Exchange.SH, "000", Board.INDEX),
    (Exchange.SZ, "000", Board.SZ_MAIN),
    (Exchange.SZ, "001", Board.SZ_MAIN),
    (Exchange.SZ, "002", Board.SZ_MAIN),
    (Exchange.SZ, "003", Board.SZ_MAIN),
    (Exchange.SZ, "300", Board.CHINEXT),
    (Exchange.SZ, "301", Board.CHINEXT),
    (Exchange.SZ, "302", Board.CHINEXT),
    (Exchange.SZ, "159", Board.FUND),
    (Exchange.SZ, "16", Board.FUND),
    (Exchange.SZ, "18", Board.FUND),  # 180 REITs, 184 closed-end funds
    (Exchange.SZ, "399", Board.INDEX),
    (Exchange.BJ, "920", Board.BSE),
    (Exchange.BJ, "43", Board.BSE),
    (Exchange.BJ, "83", Board.BSE),
    (Exchange.BJ, "87", Board.BSE),
)

# A bare six-digit code is read as a stock: the exchange that lists stocks with that prefix.
_BARE_EXCHANGE: tuple[tuple[str, Exchange], ...] = (
    ("60", Exchange.SH),
    ("68", Exchange.SH),
    ("5", Exchange.SH),
    ("00", Exchange.SZ),
    ("30", Exchange.SZ),
    ("159", Exchange.SZ),
    ("16", Exchange.SZ),
    ("18", Exchange.SZ),
    ("92", Exchange.BJ),
    ("43", Exchange.BJ),
    ("83", Exchange.BJ),
    ("87", Exchange.BJ),
)

_CODE_RE = re.compile(
    r"^(?:(?P<prefix>sh|sz|bj)\.?)?(?P<code>[0-9]{6})(?:\.(?P<suffix>sh|sz|bj))?$", re.ASCII
)

STOCK_TICK = Decimal("0.01")
FUND_TICK = Decimal("0.001")
ST_LIMIT_WIDENED = date(2026, 7, 6)
CHINEXT_REFORM = date(2020, 8, 24)  # ChiNext registration reform: +-10% -> +-20%
MAIN_BOARD_REGISTRATION = date(2023, 4, 10)  # main-board registration IPOs, price cage
NO_LIMIT_DAYS = 5  # trading days without a price limit after a registration IPO


@dataclass(frozen=True, slots=True)
class Symbol:
    """A listed security: six-digit code plus exchange."""

    code: str
    exchange: Exchange
    board: Board
    # The prefixed form, e.g. ``sh600519``: the key of every quote and position, so it is
    # computed once.
    full: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "full", f"{self.exchange.value.lower()}{self.code}")

    @property
    def is_stock(self) -> bool:
        return self.board not in (Board.FUND, Board.INDEX)

    @property
    def tick(self) -> Decimal:
        return FUND_TICK if self.board is Board.FUND else STOCK_TICK

    def __str__(self) -> str:
        return self.full


def parse_symbol(text: str) -> Symbol:
    """Parse ``600519``, ``sh600519``, ``SH600519`` or ``600519.SH`` into a Symbol.

    Symbols are immutable, so each distinct text is parsed once (a bounded cache: codes
    arrive in every order, quote, position and account snapshot).

    Raises:
        InvalidSymbol: not a six-digit code, or no board lists that prefix.
    """
    if type(text) is str:
        return _parse_cached(text)
    return _parse(text)  # refuses anything but a string with InvalidSymbol


@functools.lru_cache(maxsize=32_768)
def _parse_cached(text: str) -> Symbol:
    return _parse(text)


def _parse(text: str) -> Symbol:
    match = _CODE_RE.match(text.strip().lower()) if isinstance(text, str) else None
    if match is None:
        raise InvalidSymbol(
            f"无效的证券代码：{text!r}（应为6位数字，可带 sh/sz/bj 前缀）",
            f"invalid security code {text!r} (six digits, optional sh/sz/bj prefix)",
        )
    code = match["code"]
    if match["prefix"] and match["suffix"] and match["prefix"] != match["suffix"]:
        raise InvalidSymbol(
            f"证券代码的交易所前后缀矛盾：{text!r}",
            f"contradictory exchange prefix and suffix in {text!r}",
        )
    tag = match["prefix"] or match["suffix"]
    exchange = (
        Exchange(tag.upper())
        if tag
        else next((ex for prefix, ex in _BARE_EXCHANGE if code.startswith(prefix)), None)
    )
    if exchange is None:
        raise InvalidSymbol(f"无法识别的证券代码：{code}", f"unknown security code {code}")
    board = _board_of(exchange, code)
    return Symbol(code=code, exchange=exchange, board=board)


def _board_of(exchange: Exchange, code: str) -> Board:
    best: tuple[int, Board] | None = None
    for ex, prefix, board in _BOARD_PREFIXES:
        if ex is exchange and code.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), board)
    if best is None:
        raise InvalidSymbol(
            f"{exchange.value} 交易所没有以 {code[:3]} 开头的证券板块：{code}",
            f"no {exchange.value} board lists codes starting {code[:3]}: {code}",
        )
    return best[1]


class Special(StrEnum):
    """Special treatment shown by the name: main-board limits of +-5% (REFERENCE.md)."""

    ST = "ST"  # 风险警示
    STAR_ST = "*ST"  # 退市风险警示
    SHARE_REFORM = "S"  # share reform not completed (600182 S佳通)


def special_of_name(name: str) -> Special | None:
    """The special treatment a security's name shows (spaces inside names are common).

    ``ST``/``SST`` names are ST, ``*ST``/``S*ST`` names *ST, and a name of ``S`` and then
    Chinese (``S佳通``) has not completed the share reform.
    """
    compact = name.replace(" ", "").upper()
    if compact.startswith(("*ST", "S*ST")):
        return Special.STAR_ST
    if compact.startswith(("ST", "SST")):
        return Special.ST
    if len(compact) > 1 and compact[0] == "S" and not compact[1].isascii():
        return Special.SHARE_REFORM
    return None


def is_st_name(name: str) -> bool:
    """True for names under special treatment: ST, *ST, or S (share reform not completed)."""
    return special_of_name(name) is not None


def new_listing_day_of_name(name: str) -> int | None:
    """The listing day a name shows: 1 for ``N`` (the first day), 2 for ``C`` (days 2-5 of
    a registration IPO, which have no limit either), None for any other name."""
    compact = name.replace(" ", "")
    if len(compact) > 1 and not compact[1].isascii():
        return {"N": 1, "C": 2}.get(compact[0])
    return None


def limit_pct(
    symbol: Symbol, trading_date: date, *, is_st: bool = False, ratio: Decimal | None = None
) -> Decimal | None:
    """The daily price-limit fraction for ``symbol`` on ``trading_date``; None means no limit.

    ``is_st`` covers every special treatment (:class:`Special`); ``ratio`` is the
    security's own limit where it differs from its board's (a fund tracking a STAR or
    ChiNext index: +-20%).
    """
    board = symbol.board
    if board is Board.INDEX:
        return None
    if ratio is not None:
        return ratio
    if board is Board.STAR or (board is Board.CHINEXT and trading_date >= CHINEXT_REFORM):
        return Decimal("0.20")
    if board is Board.BSE:
        return Decimal("0.30")
    if board is Board.FUND:
        return Decimal("0.10")
    if is_st and trading_date < ST_LIMIT_WIDENED:
        return Decimal("0.05")
    return Decimal("0.10")


def listing_day(listed_on: date, trading_date: date) -> int:
    """Which trading day of the listing ``trading_date`` is (1 = the listing day).

    Counts no further than ``NO_LIMIT_DAYS + 1``: later days all look alike to the rules.
    """
    from .sessions import next_trading_day  # sessions does not import symbols

    day, number = listed_on, 1
    while day < trading_date and number <= NO_LIMIT_DAYS:  # counting further changes nothing
        day = next_trading_day(day)
        number += 1
    return number


def limit_fractions(
    symbol: Symbol,
    trading_date: date,
    *,
    is_st: bool = False,
    listed_on: date | None = None,
    ratio: Decimal | None = None,
) -> tuple[Decimal, Decimal] | None:
    """(up, down) price-limit fractions for ``trading_date``; None means no limit.

    New listings: STAR, ChiNext (since 2020-08-24) and main-board IPOs registered since
    2023-04-10 have no limit for their first five trading days, BSE for its first day;
    earlier main-board IPOs had +44% / -36% on their first day.
    """
    if listed_on is not None and symbol.board not in (Board.INDEX, Board.FUND):
        number = listing_day(listed_on, trading_date)
        board = symbol.board
        registered = (
            board is Board.STAR
            or (board is Board.CHINEXT and listed_on >= CHINEXT_REFORM)
            or (board in (Board.SH_MAIN, Board.SZ_MAIN) and listed_on >= MAIN_BOARD_REGISTRATION)
        )
        if registered and number <= NO_LIMIT_DAYS:
            return None
        if board is Board.BSE and number == 1:
            return None
        if not registered and board is not Board.BSE and number == 1:
            return Decimal("0.44"), Decimal("0.36")
    pct = limit_pct(symbol, trading_date, is_st=is_st, ratio=ratio)
    return None if pct is None else (pct, pct)


def price_limits(
    symbol: Symbol,
    previous_close: Decimal,
    trading_date: date,
    *,
    is_st: bool = False,
    listed_on: date | None = None,
    ratio: Decimal | None = None,
) -> tuple[Decimal, Decimal] | None:
    """(limit up, limit down) from the previous close, on the tick; None when the
    security has no limit that day (indexes, new listings).

    SSE and SZSE round half up; BSE cuts toward the previous close (the up limit
    rounded down, the down limit rounded up: 15.29 gives 19.87 and 10.71). If the
    rounded limit is less than one tick away from the previous close, the limit is the
    previous close plus or minus one tick.
    """
    fractions = limit_fractions(symbol, trading_date, is_st=is_st, listed_on=listed_on, ratio=ratio)
    if fractions is None:
        return None
    return limit_prices_of(symbol, previous_close, fractions)


def limit_prices_of(
    symbol: Symbol, previous_close: Decimal, fractions: tuple[Decimal, Decimal]
) -> tuple[Decimal, Decimal]:
    """(limit up, limit down) from the previous close and the (up, down) fractions,
    rounded as the security's exchange rounds (see :func:`price_limits`)."""
    up_pct, down_pct = fractions
    tick = symbol.tick
    if symbol.board is Board.BSE:
        up = (previous_close * (1 + up_pct)).quantize(tick, rounding=ROUND_FLOOR)
        down = (previous_close * (1 - down_pct)).quantize(tick, rounding=ROUND_CEILING)
    else:
        up = round_half_up(previous_close * (1 + up_pct), tick)
        down = round_half_up(previous_close * (1 - down_pct), tick)
    if up - previous_close < tick:
        up = previous_close + tick
    if previous_close - down < tick:
        down = previous_close - tick
    return up, max(down, tick)


@dataclass(frozen=True, slots=True)
class LotRule:
    """How many shares one order may carry."""

    minimum: int  # smallest buy
    step: int  # buy sizes go minimum, minimum + step, ...
    maximum: int  # largest single order (limit orders)


_LOT_RULES = {
    Board.STAR: LotRule(minimum=200, step=1, maximum=100_000),
    Board.BSE: LotRule(minimum=100, step=1, maximum=1_000_000),
    Board.CHINEXT: LotRule(minimum=100, step=100, maximum=300_000),
}
_ROUND_LOTS = LotRule(minimum=100, step=100, maximum=1_000_000)


def lot_rule(symbol: Symbol) -> LotRule:
    return _LOT_RULES.get(symbol.board, _ROUND_LOTS)


def board_lot(symbol: Symbol) -> int:
    """The round lot used for position sizing (100 shares, 200 on STAR)."""
    return lot_rule(symbol).minimum
