"""The symbols table carries the security facts (migration 0007), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aigupiao.domain.symbols import parse_symbol
from aigupiao.market.universe import SymbolInfo
from aigupiao.store import Database, SymbolRepo


async def test_symbol_rows_keep_the_facts(db: Database) -> None:
    rows = [
        SymbolInfo(parse_symbol("sh513100"), "纳指ETF", Decimal("1.442")).as_row(),
        SymbolInfo(parse_symbol("sh600182"), "S佳通", Decimal("14.91")).as_row(),
        SymbolInfo(parse_symbol("sz159915"), "创业板ETF", Decimal("2.000")).as_row(),
        {"code": "sh600519", "exchange": "SH", "board": "sh_main", "name": "贵州茅台"},
    ]
    async with db.session() as session:
        repo = SymbolRepo(session)
        await repo.upsert_many(rows)
        await session.commit()
        fund = await repo.get("sh513100")
        special = await repo.get("sh600182")
        wide = await repo.get("sz159915")
        plain = await repo.get("sh600519")
    assert fund is not None and special is not None and wide is not None and plain is not None
    assert (fund["settlement"], fund["fund_kind"], fund["limit_ratio"]) == (
        "T+0",
        "cross_border",
        None,
    )
    assert (special["special"], special["is_st"], special["listed_on"]) == (
        "S",
        True,
        date(1999, 5, 7),
    )
    assert wide["limit_ratio"] == Decimal("0.2000") and wide["settlement"] == "T+1"
    assert (plain["settlement"], plain["special"], plain["listed_on"]) == ("T+1", None, None)
