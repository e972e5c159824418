from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from aigupiao.domain.symbols import Board, Exchange
from aigupiao.market.universe import (
    FALLBACK_UNIVERSE,
    PREFERRED_CODES,
    SHARED_DIR_ENV,
    SPOT_FILE,
    SymbolInfo,
    default_shared_dir,
    full_market,
    load_universe,
)

REPO_SHARED = Path(__file__).resolve().parents[3].parent / "shared"

HEADER = ",代码,名称,最新价,涨跌额,涨跌幅,买入,卖出,昨收,今开,最高,最低,成交量,成交额,时间戳"


@pytest.fixture
def real_shared() -> Path:
    if not (REPO_SHARED / SPOT_FILE).is_file():
        pytest.skip("the shared market snapshot is not available")
    return REPO_SHARED


def write_snapshot(root: Path, rows: list[str]) -> Path:
    path = root / SPOT_FILE
    path.parent.mkdir(parents=True)
    lines = [HEADER, *(f"{i},{row}" for i, row in enumerate(rows))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return root


def test_real_snapshot_gives_fifty_liquid_symbols(real_shared: Path) -> None:
    universe = load_universe(real_shared)
    assert len(universe) == 50
    by_code = {info.symbol.full: info for info in universe}
    assert len(by_code) == 50
    assert by_code["sh600519"].name == "贵州茅台"
    assert by_code["sh600519"].previous_close == Decimal("1466.80")
    assert by_code["sz000001"].name == "平安银行"
    assert [info.symbol.full for info in universe[:2]] == ["sh600519", "sz000001"]
    boards = {info.symbol.board for info in universe}
    assert {Board.SH_MAIN, Board.SZ_MAIN, Board.CHINEXT, Board.STAR} <= boards
    for info in universe:
        assert isinstance(info.previous_close, Decimal)
        assert info.previous_close > 0
        assert info.previous_close % info.symbol.tick == 0
        assert info.symbol.exchange is not Exchange.BJ
        assert not info.is_st
        assert " " not in info.name


def test_real_snapshot_is_deterministic_and_respects_count(real_shared: Path) -> None:
    assert load_universe(real_shared) == load_universe(real_shared)
    small = load_universe(real_shared, count=10)
    assert [info.symbol.full for info in small] == list(PREFERRED_CODES[:10])
    big = load_universe(real_shared, count=80)
    assert len(big) == 80
    assert [info.symbol.full for info in big[: len(PREFERRED_CODES)]] == list(PREFERRED_CODES)


def test_fallback_without_shared_dir() -> None:
    universe = load_universe(None)
    assert universe == list(FALLBACK_UNIVERSE)
    assert 10 <= len(universe) <= 15
    codes = {info.symbol.full for info in universe}
    assert {"sh600519", "sz000001"} <= codes
    assert all(isinstance(info.previous_close, Decimal) for info in universe)


def test_fallback_when_file_missing(tmp_path: Path) -> None:
    assert load_universe(tmp_path) == list(FALLBACK_UNIVERSE)


def test_snapshot_rules(tmp_path: Path) -> None:
    root = write_snapshot(
        tmp_path,
        [
            "sh600519,贵州茅台,1466.8,0,0,0,0,1485.3,0,0,0,1,100.0,15:00:01",
            "sz000001,平安银行,0.0,0,0,0,0,10.91,0,0,0,0,0.0,15:00:00",  # suspended
            "sz000002,万 科Ａ,4.92,0,0,0,0,4.97,0,0,0,1,900.0,15:00:00",
            "sz002445,中南文化,0.0,0,0,0,0,0.0,0,0,0,0,0.0,15:00:00",  # no price at all
            "bj920000,安徽凤凰,18.98,0,0,0,0,18.95,0,0,0,1,99999.0,15:30:02",
            "sz002231,*ST奥维,0.6,0,0,0,0,0.6,0,0,0,1,99999.0,15:00:00",
            "sh603001,N新股,30.0,0,0,0,0,10.0,0,0,0,1,99999.0,15:00:00",
            "sz300001,特锐德,20.5,0,0,0,0,20.0,0,0,0,1,500.0,15:00:00",
            "sz300002,神州泰岳,9.99,0,0,0,0,9.9,0,0,0,1,800.0,15:00:00",
        ],
    )
    universe = load_universe(root, count=5)
    assert [info.symbol.full for info in universe] == [
        "sh600519",
        "sz000001",
        "sz000002",  # then by turnover, BJ / ST / new listings / priceless left out
        "sz300002",
        "sz300001",
    ]
    assert universe[1].previous_close == Decimal("10.91")  # 昨收 while suspended
    assert universe[2].name == "万科Ａ"
    with_st = load_universe(root, count=20, include_st=True)
    st = [info for info in with_st if info.is_st]
    assert [info.symbol.full for info in st] == ["sz002231"]
    assert isinstance(st[0], SymbolInfo)


def test_default_shared_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path))
    assert default_shared_dir() == tmp_path
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path / "missing"))
    assert default_shared_dir() is None
    monkeypatch.delenv(SHARED_DIR_ENV)
    work = tmp_path / "main"
    work.mkdir()
    (tmp_path / "shared").mkdir()
    monkeypatch.chdir(work)
    assert default_shared_dir() == tmp_path / "shared"


def test_the_whole_snapshot_with_bse_st_and_new_listings(shared_dir: Path) -> None:
    everything = full_market(shared_dir)
    assert len(everything) == 5483  # every row of the snapshot has a price
    assert len({info.symbol.full for info in everything}) == 5483
    boards = Counter(info.symbol.board for info in everything)
    assert boards[Board.BSE] == 294
    assert {Board.SH_MAIN, Board.SZ_MAIN, Board.CHINEXT, Board.STAR, Board.BSE} == set(boards)
    assert sum(info.is_st for info in everything) == 179  # 178 ST / *ST and 600182 S佳通
    assert [info.symbol.full for info in everything[:2]] == ["sh600519", "sz000001"]
    amounts = [info.amount for info in everything[len(PREFERRED_CODES) :]]
    assert amounts == sorted(amounts, reverse=True)  # the rest by turnover
    phoenix = next(info for info in everything if info.symbol.full == "bj920000")
    assert (phoenix.name, phoenix.previous_close) == ("安徽凤凰", Decimal("18.98"))
    assert phoenix.symbol.exchange is Exchange.BJ

    no_new = load_universe(shared_dir, None, include_st=True, include_bse=True)
    assert len(no_new) == 5480
    assert {info.symbol.full for info in everything} - {info.symbol.full for info in no_new} == {
        "sh603284",  # C林平, C易思, C电科: still in their no-limit days
        "sh688816",
        "sh688818",
    }
    sh_sz = load_universe(shared_dir, None)
    assert len(sh_sz) == 5008  # without ST, *ST and S (600182 S佳通) names
    assert not any(info.is_st or info.symbol.board is Board.BSE for info in sh_sz)
    assert load_universe(shared_dir) == sh_sz[:50]  # the default is unchanged


def test_bse_rows_are_taken_only_when_asked(tmp_path: Path) -> None:
    root = write_snapshot(
        tmp_path,
        [
            "bj920000,安徽凤凰,18.98,0,0,0,0,18.95,0,0,0,1,99999.0,15:30:02",
            "sz000002,万 科Ａ,4.92,0,0,0,0,4.97,0,0,0,1,900.0,15:00:00",
        ],
    )
    assert [i.symbol.full for i in load_universe(root, 5)] == ["sz000002"]
    with_bse = load_universe(root, 5, include_bse=True)
    assert [i.symbol.full for i in with_bse] == ["sz000002", "bj920000"]  # preferred first
    assert with_bse[1].amount == Decimal("99999.0")  # 成交额, CNY
