"""Build ``aigupiao/domain/securities_data.py`` from the reference data in ../shared.

Used by ``aigupiao symbols generate``. The sources (``../shared/data/README.md``,
section 5) state no license, so only facts derived from them are kept, never their
rows: a stock's listing date, the names under special treatment, which funds have
+-20% limits. What is taken from where:

1. tushare ``stock_basic`` (about 2025-04, 5,408 stocks): every stock's listing date,
   and the names then under special treatment (ST, *ST, S).
2. tushare ``stk_limit`` of 2025-04-03: the funds whose limits are +-20% (funds tracking
   STAR or ChiNext indexes), beyond the STAR funds 588/589 that have them by code.
3. :data:`FUND_KINDS`: SZSE funds that settle T+0 although their code does not show it
   (SSE's have code ranges: :func:`~aigupiao.domain.securities.default_facts`).

The build stops unless, with these facts, the limits of every stock in ``daily`` of
2025-04-03 (from its ``pre_close``) are exactly the ones ``stk_limit`` gives, and every
fund's limits in ``stk_limit`` come out of some previous close on the fund's tick.
"""

from __future__ import annotations

import csv
import hashlib
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from aigupiao.domain.errors import DomainError
from aigupiao.domain.securities import (
    WIDE,
    FundKind,
    SecurityFacts,
    SecurityTable,
    default_facts,
    limit_prices,
)
from aigupiao.domain.symbols import Board, Symbol, parse_symbol, special_of_name

STOCK_BASIC = "reference/meltWLAN_QTS/data/stock_basic.csv"
STK_LIMIT = "reference/meltWLAN_QTS/data/stk_limit_stock_market.csv"
DAILY = "reference/meltWLAN_QTS/data/daily_stock_market.csv"
ALL_SOURCES = (STOCK_BASIC, STK_LIMIT, DAILY)
AS_OF = date(2025, 4, 3)
# tushare's stk_limit writes "no limit" (a new listing) as these.
NO_LIMIT = (Decimal("999999.999"), Decimal("0.01"))

# SZSE funds that settle T+0 (REFERENCE.md, "Settlement"), from the funds' names as the
# exchange lists them; each is in stk_limit of 2025-04-03 with +-10% limits, and the gold
# funds' limits put them at 7.0-7.3 CNY that day, as SSE's gold ETFs 518xxx. Bond and
# money funds trade near 100 CNY: the 1593xx ones are taken as bond funds by that alone [?].
FUND_KINDS: dict[str, FundKind] = {
    # cross-border (QDII): Hang Seng, Nasdaq, S&P 500, Nikkei, China internet, Saudi
    "159920": FundKind.CROSS_BORDER,  # 恒生ETF
    "159941": FundKind.CROSS_BORDER,  # 纳指ETF
    "159501": FundKind.CROSS_BORDER,  # 纳指ETF (嘉实)
    "159509": FundKind.CROSS_BORDER,  # 纳指科技ETF
    "159513": FundKind.CROSS_BORDER,  # 纳斯达克100指数ETF
    "159632": FundKind.CROSS_BORDER,  # 纳斯达克ETF
    "159659": FundKind.CROSS_BORDER,  # 纳斯达克100ETF
    "159696": FundKind.CROSS_BORDER,  # 纳指ETF (易方达)
    "159612": FundKind.CROSS_BORDER,  # 标普500ETF
    "159655": FundKind.CROSS_BORDER,  # 标普ETF
    "159866": FundKind.CROSS_BORDER,  # 日经ETF
    "159605": FundKind.CROSS_BORDER,  # 中概互联ETF
    "159607": FundKind.CROSS_BORDER,  # 中概互联网ETF
    "159740": FundKind.CROSS_BORDER,  # 恒生科技ETF
    "159329": FundKind.CROSS_BORDER,  # 沙特ETF
    # gold
    "159934": FundKind.GOLD,  # 黄金ETF
    "159937": FundKind.GOLD,  # 博时黄金ETF
    "159812": FundKind.GOLD,  # 黄金基金ETF
    "159830": FundKind.GOLD,  # 上海金ETF
    "159831": FundKind.GOLD,  # 上海金ETF
    "159834": FundKind.GOLD,  # 上海金ETF
    # commodity futures
    "159980": FundKind.COMMODITY,  # 有色ETF
    "159981": FundKind.COMMODITY,  # 能源化工ETF
    "159985": FundKind.COMMODITY,  # 豆粕ETF
    # bond
    "159649": FundKind.BOND,  # 国开债ETF
    "159650": FundKind.BOND,  # 国开债ETF
    "159651": FundKind.BOND,  # 国开债ETF
    "159816": FundKind.BOND,  # 地债ETF
    "159972": FundKind.BOND,  # 5年地债ETF
    "159395": FundKind.BOND,  # [?] near 100 CNY
    "159396": FundKind.BOND,  # [?]
    "159397": FundKind.BOND,  # [?]
    "159398": FundKind.BOND,  # [?]
    # money
    "159001": FundKind.MONEY,  # 货币ETF
    "159003": FundKind.MONEY,  # 招商快线ETF
    "159005": FundKind.MONEY,  # 快钱ETF
}


class BuildError(Exception):
    """A source is missing, or the facts fail a cross-check."""


@dataclass(frozen=True)
class _Source:
    path: str
    repo: str
    commit: str
    license: str
    sha256: str


@dataclass(frozen=True)
class Built:
    """What the build found, for ``aigupiao symbols generate`` to show."""

    table: SecurityTable
    text: str
    listed: int
    special: int
    wide_funds: int
    stocks_checked: int
    funds_checked: int


def build(data_dir: Path) -> Built:
    """The built-in table and the text of ``securities_data.py`` from ``data_dir``.

    Raises:
        BuildError: a source is missing, or a cross-check fails.
    """
    sources = [_source(data_dir, path) for path in ALL_SOURCES]
    listed: dict[str, date] = {}
    special: dict[str, str] = {}
    for row in _rows(data_dir / STOCK_BASIC):
        code = row["symbol"]
        listed[code] = _day(row["list_date"])
        if special_of_name(row["name"]) is not None:
            special[code] = row["name"].replace(" ", "")
    limits = {
        row["ts_code"]: (Decimal(row["up_limit"]), Decimal(row["down_limit"]))
        for row in _rows(data_dir / STK_LIMIT)
    }
    wide = sorted(
        code[:6]
        for code, (up, down) in limits.items()
        if _board(code) is Board.FUND
        and _ratio(up, down) == WIDE
        and default_facts(parse_symbol(code)).limit_ratio is None
    )
    for code, kind in FUND_KINDS.items():
        found = next((limits[c] for c in (f"{code}.SZ",) if c in limits), None)
        if found is None or _ratio(*found) != Decimal("0.10"):
            raise BuildError(f"curated fund {code} ({kind}) is not a +-10% fund in {STK_LIMIT}")
    text = render(listed, special, wide, sources)
    table = _table(listed, special, wide)
    stocks = _check_stocks(table, limits, data_dir / DAILY)
    funds = _check_funds(table, limits)
    return Built(table, text, len(listed), len(special), len(wide), stocks, funds)


def _table(listed: dict[str, date], special: dict[str, str], wide: list[str]) -> SecurityTable:
    """The same table :func:`~aigupiao.domain.securities.builtin_securities` makes of the text."""
    changes: dict[str, dict[str, object]] = defaultdict(dict)
    for code, day in listed.items():
        changes[parse_symbol(code).full]["listed_on"] = day
    for code, name in special.items():
        changes[parse_symbol(code).full] |= {"name": name, "special": special_of_name(name)}
    for code in wide:
        changes[parse_symbol(code).full]["limit_ratio"] = WIDE
    for code, kind in FUND_KINDS.items():
        changes[parse_symbol(code).full]["fund_kind"] = kind
    return SecurityTable({}).overlaid(changes, "built-in")


def _check_stocks(
    table: SecurityTable, limits: dict[str, tuple[Decimal, Decimal]], daily: Path
) -> int:
    """Every stock's limits from its previous close are stk_limit's; returns how many."""
    wrong = []
    checked = 0
    for row in _rows(daily):
        symbol = _symbol(row["ts_code"])
        if symbol is None or row["ts_code"] not in limits:
            continue
        expected: tuple[Decimal, Decimal] | None = limits[row["ts_code"]]
        if expected == NO_LIMIT:
            expected = None
        got = limit_prices(table.facts(symbol), Decimal(row["pre_close"]), AS_OF)
        checked += 1
        if got != expected:
            wrong.append(f"{row['ts_code']}: {got} != {expected}")
    if wrong:
        raise BuildError(f"{len(wrong)} stocks' limits differ from {STK_LIMIT}: {wrong[:5]}")
    return checked


def fund_limits_fit(facts: SecurityFacts, up: Decimal, down: Decimal, day: date) -> bool:
    """Whether some previous close on the fund's tick gives exactly these limits."""
    tick = facts.symbol.tick
    center = ((up + down) / 2).quantize(tick)
    steps = int(max(Decimal(5), (up - down) / 2 / tick * Decimal("0.02")))
    for step in range(-steps, steps + 1):
        previous_close = center + step * tick
        if previous_close > 0 and limit_prices(facts, previous_close, day) == (up, down):
            return True
    return False


def _check_funds(table: SecurityTable, limits: dict[str, tuple[Decimal, Decimal]]) -> int:
    wrong = []
    checked = 0
    for code, (up, down) in limits.items():
        symbol = _symbol(code)
        if symbol is None or symbol.board is not Board.FUND:
            continue
        checked += 1
        if not fund_limits_fit(table.facts(symbol), up, down, AS_OF):
            wrong.append(f"{code}: {up}/{down}")
    if wrong:
        raise BuildError(f"{len(wrong)} funds' limits fit no previous close: {wrong[:5]}")
    return checked


def _ratio(up: Decimal, down: Decimal) -> Decimal:
    """The limit ratio the two limits show (the nearest of 5%, 10%, 20% and 30%)."""
    shown = (up - down) / (up + down)
    return min(
        (Decimal("0.05"), Decimal("0.10"), Decimal("0.20"), Decimal("0.30")),
        key=lambda r: abs(r - shown),
    )


def _symbol(ts_code: str) -> Symbol | None:
    try:
        return parse_symbol(ts_code)
    except DomainError:
        return None  # B shares (200xxx, 900xxx): aigupiao does not trade them


def _board(ts_code: str) -> Board | None:
    symbol = _symbol(ts_code)
    return None if symbol is None else symbol.board


def _day(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _rows(path: Path) -> Iterable[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def _source(data_dir: Path, path: str) -> _Source:
    file = data_dir / path
    if not file.is_file():
        raise BuildError(f"missing source file {file}")
    with (data_dir / "MANIFEST.csv").open(encoding="utf-8", newline="") as handle:
        row = next((r for r in csv.DictReader(handle) if r["local_path"] == path), None)
    if row is None:
        raise BuildError(f"{path} is not in {data_dir / 'MANIFEST.csv'}")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return _Source(path, row["source_repo"], row["source_commit"], row["license"], digest)


def _wrapped(text: str, indent: str) -> str:
    """A long string as implicitly joined pieces of at most 90 characters."""
    parts = textwrap.wrap(text, width=88)
    return "\n".join(f'{indent}"{"" if i == 0 else " "}{part}"' for i, part in enumerate(parts))


def render(
    listed: dict[str, date], special: dict[str, str], wide: list[str], sources: list[_Source]
) -> str:
    """The text of ``securities_data.py`` (stable: the same input gives the same bytes)."""
    provenance = "\n".join(
        f"#   {s.path}\n#     {s.repo} commit {s.commit}\n"
        f"#     license: {s.license}; sha256 {s.sha256[:16]}"
        for s in sources
    )
    by_day: dict[date, list[str]] = defaultdict(list)
    for code, day in listed.items():
        by_day[day].append(code)
    years: dict[int, list[str]] = defaultdict(list)
    for day in sorted(by_day):
        years[day.year].append(f"{day:%m%d} " + " ".join(sorted(by_day[day])))
    listed_lines = []
    for year, groups in years.items():
        text = " ".join(groups)
        line = f'    {year}: "{text}",'
        if len(line) <= 100:
            listed_lines.append(line)
        else:
            listed_lines.append(f"    {year}: (\n{_wrapped(text, '        ')}\n    ),")
    special_lines = "\n".join(f'    "{code}": "{name}",' for code, name in sorted(special.items()))
    kinds = "\n".join(f'    "{code}": "{kind.value}",' for code, kind in FUND_KINDS.items())
    return f'''"""The built-in security facts. GENERATED: do not edit by hand.

Regenerate with ``aigupiao symbols generate`` (it reads ../shared/data; see
``aigupiao/cli/_symbols_build.py`` for the sources and the cross-checks). Read by
:func:`aigupiao.domain.securities.builtin_securities`.
"""

# Sources (no license stated: only facts derived from them are kept here, no rows):
{provenance}
#   FUND_KINDS: curated in aigupiao/cli/_symbols_build.py (the funds' names)
# Cross-checked: with these facts the limits of every stock in daily_stock_market.csv
# (from pre_close) and of every fund in stk_limit_stock_market.csv are exactly the
# exchanges' of {AS_OF} (tests/unit/domain/test_securities_data.py).

SOURCE = "tushare stock_basic and stk_limit of {AS_OF} (meltWLAN/QTS), curated SZSE T+0 funds"
AS_OF = "{AS_OF}"

# Listing dates of the {len(listed)} stocks listed about {AS_OF}, per year: MMDD, then the
# codes listed that day (from stock_basic.csv).
LISTED: dict[int, str] = {{
{chr(10).join(listed_lines)}
}}

# The {len(special)} names under special treatment about {AS_OF} (ST, *ST, S) by code, from
# stock_basic.csv. A quote's name is fresher and wins over these.
SPECIAL: dict[str, str] = {{
{special_lines}
}}

# The {len(wide)} funds with +-20% limits on {AS_OF} (tracking STAR or ChiNext indexes)
# beyond the STAR funds 588xxx and 589xxx, which have them by code (stk_limit_stock_market.csv).
WIDE_LIMIT_FUNDS = (
{_wrapped(" ".join(wide), "    ")}
)

# SZSE funds settling T+0 that the code does not show: kind by code.
FUND_KINDS: dict[str, str] = {{
{kinds}
}}
'''
