"""A backtest on the database's bars gives what the same bars give from their file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from aigupiao.backtest.data import load_database_bars
from aigupiao.backtest.engine import PARITY_PARAMS, run_backtest
from aigupiao.backtest.model import BacktestConfig, StrategyRun
from aigupiao.market.daily import read_daily
from aigupiao.store import BarRepo, Database

FILE = Path("../shared/data/daily/hzjsw_stock-backtest/data/bank_000001.csv")


async def test_database_bars_run_as_the_file_does(db: Database) -> None:
    bars = [bar for bar in read_daily(FILE).bars if bar.end.year >= 2023]
    async with db.session() as session:
        await BarRepo(session).upsert_many(bars)
        await session.commit()
    async with db.session() as session:
        market = await load_database_bars(session, since=datetime(2023, 1, 1, tzinfo=UTC))
    assert market.codes == ["sz000001"] and market.bars == len(bars)
    strategies = (StrategyRun(name="ma_cross", params=PARITY_PARAMS),)
    from_db = BacktestConfig(strategies=strategies, database_bars=True, start=date(2023, 1, 1))
    from_file = BacktestConfig(strategies=strategies, data=(FILE,), start=date(2023, 1, 1))
    ours, theirs = run_backtest(from_db, data=market), run_backtest(from_file)
    assert len(ours.trades) > 4
    assert ours.trades == theirs.trades and ours.final_equity == theirs.final_equity
