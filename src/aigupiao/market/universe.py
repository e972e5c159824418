"""The symbol universe the simulated market trades.

The universe is read from a real full-market snapshot (akshare's
``stock_zh_a_spot`` export in the shared data directory, 5,483 rows: SH, SZ and
BSE): a fixed list of liquid, well-known names first, then the most traded other
stocks by turnover (成交额). That day's last price (最新价) becomes our previous
close, and its turnover tells the simulator how liquid the stock is. By default
only SH/SZ stocks without ST flag and past their first listing days are taken;
:func:`full_market` takes every row. Without the file, a small built-in list
(:data:`FALLBACK_UNIVERSE`) is used instead.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from aigupiao.domain.errors import InvalidSymbol
from aigupiao.domain.money import ZERO, round_half_up
from aigupiao.domain.securities import facts_for
from aigupiao.domain.symbols import Board, Symbol, is_st_name, parse_symbol, special_of_name

log = logging.getLogger(__name__)

SHARED_DIR_ENV = "AIGUPIAO_SHARED_DIR"
SPOT_FILE = Path("data/quotes/Da-Wen-Xi_XQuant/stock_zh_a_spot.csv")


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A tradable symbol with the reference price its trading day starts from."""

    symbol: Symbol
    name: str
    previous_close: Decimal
    is_st: bool = False
    amount: Decimal = Decimal(0)  # 成交额 of the snapshot day in CNY (0: unknown): liquidity

    def as_row(self) -> dict[str, object]:
        """The shape of a ``symbols`` table row, with the security's facts in use
        (:mod:`aigupiao.domain.securities`; the name here is fresher than the table's)."""
        facts = facts_for(self.symbol)
        special = special_of_name(self.name) if self.name else facts.special
        return {
            "code": self.symbol.full,
            "exchange": self.symbol.exchange.value,
            "board": self.symbol.board.value,
            "name": self.name,
            "previous_close": self.previous_close,
            "is_st": self.is_st or special is not None,
            "special": None if special is None else special.value,
            "listed_on": facts.listed_on,
            "fund_kind": None if facts.fund_kind is None else facts.fund_kind.value,
            "settlement": facts.settlement.value,
            "limit_ratio": facts.limit_ratio,
        }


# Liquid, widely held names across the boards, in the order they are taken.
# The first two are the symbols manual tests and demos use.
# fmt: off
PREFERRED_CODES: tuple[str, ...] = (
    "sh600519", "sz000001",
    # SH main board
    "sh601318", "sh600036", "sh600900", "sh601398", "sh601288", "sh601988", "sh601939",
    "sh600030", "sh600276", "sh600887", "sh601012", "sh600309", "sh601166", "sh600000",
    "sh601857", "sh600028", "sh601088", "sh600104", "sh601899", "sh600048", "sh603288",
    "sh600809", "sh600690", "sh601728",
    # SZ main board
    "sz000858", "sz000333", "sz000651", "sz002594", "sz002415", "sz000725", "sz002475",
    "sz000002", "sz002714", "sz000568", "sz002304", "sz000063", "sz002230", "sz000100",
    "sz002352",
    # ChiNext
    "sz300750", "sz300059", "sz300015", "sz300760", "sz300124", "sz300274",
    # STAR
    "sh688981", "sh688111", "sh688012", "sh688041", "sh688256",
)
# fmt: on

# Used when the snapshot file is not available: closes of the snapshot day.
_FALLBACK_ROWS: tuple[tuple[str, str, str], ...] = (
    ("sh600519", "贵州茅台", "1466.80"),
    ("sz000001", "平安银行", "10.91"),
    ("sh601318", "中国平安", "64.50"),
    ("sh600036", "招商银行", "38.94"),
    ("sh600900", "长江电力", "26.05"),
    ("sh601398", "工商银行", "7.06"),
    ("sz000858", "五粮液", "105.16"),
    ("sz000333", "美的集团", "79.52"),
    ("sz002594", "比亚迪", "90.87"),
    ("sz300750", "宁德时代", "361.95"),
    ("sz300059", "东方财富", "22.41"),
    ("sh688981", "中芯国际", "115.82"),
)

FALLBACK_UNIVERSE: tuple[SymbolInfo, ...] = tuple(
    SymbolInfo(parse_symbol(code), name, Decimal(close)) for code, name, close in _FALLBACK_ROWS
)

_ELIGIBLE_BOARDS = frozenset({Board.SH_MAIN, Board.SZ_MAIN, Board.CHINEXT, Board.STAR})
_BSE_BOARDS = _ELIGIBLE_BOARDS | {Board.BSE}


def default_shared_dir() -> Path | None:
    """The shared data directory: ``$AIGUPIAO_SHARED_DIR``, else ``../shared`` from the cwd."""
    configured = os.environ.get(SHARED_DIR_ENV)
    candidate = Path(configured) if configured else Path.cwd().parent / "shared"
    return candidate if candidate.is_dir() else None


def load_universe(
    shared_dir: Path | None,
    count: int | None = 50,
    *,
    include_st: bool = False,
    include_bse: bool = False,
    include_new: bool = False,
) -> list[SymbolInfo]:
    """About ``count`` liquid stocks (every eligible one when ``count`` is None).

    By default SH/SZ stocks only: BSE (北交所, ``bj920xxx``) with ``include_bse``,
    ST / *ST with ``include_st``, and new listings (names starting N or C, which
    have no price limit for their first days) with ``include_new``. Preferred
    codes come first, in :data:`PREFERRED_CODES` order; codes missing from the
    snapshot (or left out) are skipped and the list is filled up with the other
    stocks of largest turnover. Falls back to :data:`FALLBACK_UNIVERSE` when
    ``shared_dir`` is None or has no snapshot.
    """
    path = shared_dir / SPOT_FILE if shared_dir is not None else None
    if path is None or not path.is_file():
        log.info("no market snapshot at %s; using the built-in universe", path)
        return list(FALLBACK_UNIVERSE[:count])
    boards = _BSE_BOARDS if include_bse else _ELIGIBLE_BOARDS
    rows = _read_snapshot(path, boards, include_st=include_st, include_new=include_new)
    limit = len(rows) if count is None else count
    chosen = [rows[code] for code in PREFERRED_CODES if code in rows][:limit]
    taken = {info.symbol.full for info in chosen}
    by_turnover = sorted(
        (info for info in rows.values() if info.symbol.full not in taken),
        key=lambda info: (-info.amount, info.symbol.full),
    )
    chosen.extend(by_turnover[: max(0, limit - len(chosen))])
    return chosen


def full_market(shared_dir: Path | None) -> list[SymbolInfo]:
    """Every stock of the snapshot (about 5,480: SH, SZ and BSE, ST and new listings
    included), most liquid first; the built-in list without the snapshot."""
    return load_universe(shared_dir, None, include_st=True, include_bse=True, include_new=True)


def _read_snapshot(
    path: Path, boards: frozenset[Board], *, include_st: bool, include_new: bool
) -> dict[str, SymbolInfo]:
    """Eligible rows of the snapshot by prefixed code."""
    rows: dict[str, SymbolInfo] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for record in csv.DictReader(handle):
            info = _parse_row(record, boards, include_st=include_st, include_new=include_new)
            if info is not None:
                rows[info.symbol.full] = info
    return rows


def _parse_row(
    record: dict[str, str], boards: frozenset[Board], *, include_st: bool, include_new: bool
) -> SymbolInfo | None:
    try:
        symbol = parse_symbol(record["代码"])
        last = _decimal(record["最新价"])
        previous = _decimal(record["昨收"])
        turnover = _decimal(record["成交额"])
    except (InvalidSymbol, KeyError, InvalidOperation):
        return None
    # Sina pads short names with spaces ("五 粮 液"); they are not part of the name.
    name = (record.get("名称") or "").replace(" ", "")
    is_st = is_st_name(name)
    if symbol.board not in boards or (is_st and not include_st):
        return None
    if _is_new_listing(name) and not include_new:
        return None  # N/C-prefixed names have no price limit yet
    close = last if last > 0 else previous  # 最新价 is 0 while suspended
    if close <= 0:
        return None
    return SymbolInfo(symbol, name, round_half_up(close, symbol.tick), is_st, max(turnover, ZERO))


def _decimal(text: str | None) -> Decimal:
    value = Decimal((text or "").strip())
    if not value.is_finite():
        raise InvalidOperation(text)
    return value


def _is_new_listing(name: str) -> bool:
    return len(name) > 1 and name[0] in "NC" and not name[1].isascii()
