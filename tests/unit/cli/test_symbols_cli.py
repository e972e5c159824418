"""``aigupiao symbols`` show / update / generate, and the update file used at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from aigupiao.cli import app, build_cloud
from aigupiao.cloud.settings import CloudSettings
from aigupiao.domain.securities import current_securities, facts_for, use_securities
from aigupiao.domain.symbols import Special, parse_symbol

from ...conftest import ROOT, SHARED, service_missing

runner = CliRunner()

STOCK_BASIC = (
    "ts_code,symbol,name,area,industry,cnspell,market,list_date,act_name,act_ent_type\n"
    "688999.SH,688999,新股A,湖南,化学制药,xga,科创板,20261123,,\n"
    "600000.SH,600000,ST浦发,上海,银行,stpf,主板,19991110,,\n"
)
FUND_BASIC = (
    "ts_code,name,fund_type,list_date,benchmark,market\n"
    "159999.SZ,某某海外ETF,QDII,20261120,标普500指数,E\n"
)


@pytest.fixture(autouse=True)
def restore_table() -> Iterator[None]:
    previous = current_securities()
    yield
    use_securities(previous)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_update_then_show_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "var" / "symbols.json"
    source = write(tmp_path / "stock_basic.csv", STOCK_BASIC)
    code, output = invoke("symbols", "update", "--from", str(source), "--out", str(out))
    assert code == 0, output
    assert "已写入 (written)" in output and "stock_basic 2 行 (rows)" in output
    assert "特别处理改变" in output and "sh600000 无→ST" in output  # the name shows ST now

    code, output = invoke("symbols", "show", "688999", "--file", str(out))
    assert code == 0, output
    assert "sh688999  新股A" in output and "上市日期 (listed on): 2026-11-23" in output
    assert "更新文件 (update file): stock_basic.csv" in output
    code, output = invoke(
        "symbols", "show", "688999", "--file", str(out), "--close", "10", "--date", "2026-11-24"
    )
    assert code == 0 and "2026-11-24 无涨跌幅限制 (no price limit on 2026-11-24)" in output

    # a second file adds to the same update file
    funds = write(tmp_path / "fund_basic.csv", FUND_BASIC)
    code, output = invoke("symbols", "update", "--from", str(funds), "--out", str(out))
    assert code == 0, output
    stored = json.loads(out.read_text(encoding="utf-8"))
    assert set(stored["securities"]) == {"sh688999", "sh600000", "sz159999"}
    assert stored["source"] == "stock_basic.csv + fund_basic.csv"
    code, output = invoke("symbols", "show", "sz159999", "--file", str(out))
    assert "交收 (settlement): T+0，基金类型 (fund kind): 跨境 (cross_border)" in output


def test_show_gives_the_limits_from_a_previous_close(tmp_path: Path) -> None:
    none = str(tmp_path / "none.json")
    code, output = invoke(
        "symbols", "show", "430047", "--close", "15.29", "--date", "2025-04-03", "--file", none
    )
    assert code == 0, output
    assert "涨停 (limit up) 19.87，跌停 (limit down) 10.71" in output
    assert "内置数据 (built-in)" in output
    code, output = invoke("symbols", "show", "600182", "--file", none)
    assert "S佳通" in output and "特别处理 (special treatment): S" in output
    code, output = invoke("symbols", "show", "999999", "--file", none)
    assert code == 2 and ("无效的证券代码" in output or "无法识别" in output)
    code, output = invoke("symbols", "show", "600000", "--close", "abc", "--file", none)
    assert code == 2 and "--close" in output


def test_a_malformed_file_is_refused_with_lines_and_reasons(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.csv",
        "ts_code,symbol,name,list_date\n600000.SH,600000,浦发银行,19991332\n600004.SH,600004,,\n",
    )
    out = tmp_path / "symbols.json"
    code, output = invoke("symbols", "update", "--from", str(bad), "--out", str(out))
    assert code == 2
    assert "第 2 行" in output and "line 2: invalid" in output and "line 3: no name" in output
    assert not out.exists()


def test_a_changed_listing_date_needs_force(tmp_path: Path) -> None:
    wrong = write(
        tmp_path / "wrong.csv",
        "ts_code,symbol,name,list_date\n600519.SH,600519,贵州茅台,20010828\n",
    )
    out = tmp_path / "symbols.json"
    code, output = invoke("symbols", "update", "--from", str(wrong), "--out", str(out))
    assert code == 2 and "拒绝 (refused)" in output and "sh600519 2001-08-27→2001-08-28" in output
    assert "--force" in output and not out.exists()
    code, output = invoke("symbols", "update", "--from", str(wrong), "--out", str(out), "--force")
    assert code == 0 and "已忽略 (overridden)" in output and out.exists()


def test_update_needs_exactly_one_source(tmp_path: Path) -> None:
    code, output = invoke("symbols", "update", "--out", str(tmp_path / "s.json"))
    assert code == 2 and "--from FILE" in output


def test_akshare_missing_is_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "akshare", None)
    code, output = invoke("symbols", "update", "--akshare", "--out", str(tmp_path / "s.json"))
    assert code == 2 and "未安装 akshare" in output and "pip install akshare" in output


def test_akshare_lists_are_checked_and_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # akshare needs the network; its answers are frames with these columns.
    def sh(symbol: str) -> dict[str, list[str]]:
        if symbol == "科创板":
            return {"证券代码": ["688999"], "证券简称": ["新股A"], "上市日期": ["2026-11-23"]}
        return {"证券代码": ["600182"], "证券简称": ["S佳通"], "上市日期": ["1999-05-07"]}

    fake = SimpleNamespace(
        stock_info_sh_name_code=sh,
        stock_info_sz_name_code=lambda symbol: {
            "A股代码": ["1"], "A股简称": ["平安银行"], "A股上市日期": ["1991-04-03"],
        },
        stock_info_bj_name_code=lambda: {
            "证券代码": ["920999"], "证券简称": ["北交新股"], "上市日期": ["2026-11-20"],
        },
        fund_name_em=lambda: {
            "基金代码": ["513100", "000001", "159999"],
            "基金简称": ["纳指ETF", "华夏成长混合", "某某货币ETF"],
            "基金类型": ["QDII-指数", "混合型-偏股", "货币型-普通货币"],
        },
    )  # fmt: skip
    monkeypatch.setitem(sys.modules, "akshare", fake)
    out = tmp_path / "symbols.json"
    code, output = invoke("symbols", "update", "--akshare", "--out", str(out))
    assert code == 0, output
    stored = json.loads(out.read_text(encoding="utf-8"))
    assert stored["source"] == "akshare stock_info + fund_name_em"
    securities = stored["securities"]
    assert securities["sz000001"]["listed_on"] == "1991-04-03"  # "1" is 000001
    assert securities["bj920999"]["name"] == "北交新股"
    assert securities["sh513100"]["fund_kind"] == "cross_border"
    assert securities["sz159999"]["fund_kind"] == "money"
    assert "sz000001" in securities and "000001" not in json.dumps(securities["sz000001"])


def test_generate_check_reports_the_module_up_to_date() -> None:
    if not (SHARED / "data").is_dir():
        service_missing("the shared data folder ../shared/data")
    code, output = invoke("symbols", "generate", "--shared", str(SHARED), "--check")
    assert code == 0, output
    assert "一致 (up to date)" in output and "checked 5393 stocks and 1583 funds" in output


def test_the_cloud_uses_the_update_file_from_its_var_dir(tmp_path: Path) -> None:
    source = write(tmp_path / "stock_basic.csv", STOCK_BASIC)
    out = tmp_path / "symbols.json"
    assert invoke("symbols", "update", "--from", str(source), "--out", str(out))[0] == 0
    settings = CloudSettings.load(
        None, var_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    )
    star = parse_symbol("688999")
    assert facts_for(star).listed_on is None
    build_cloud(settings)
    assert facts_for(star).listed_on == date(2026, 11, 23)
    assert facts_for(parse_symbol("600000")).special is Special.ST


def test_cloud_and_node_refuse_to_start_on_a_broken_update_file(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "symbols.json").write_text('{"format": "aigupiao-symbols/1"}', encoding="utf-8")
    cloud_config = write(
        tmp_path / "cloud.json",
        json.dumps({"var_dir": str(var), "database_url": f"sqlite+aiosqlite:///{var / 'c.db'}"}),
    )
    node_config = write(
        tmp_path / "local.json",
        json.dumps({"node": {"data_dir": str(var / "node")}, "cloud": {"token": "t"}}),
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    for command, config in (("cloud", cloud_config), ("local", node_config)):
        result = subprocess.run(
            [sys.executable, "-m", "aigupiao.cli", command, "--config", str(config)],
            cwd=ROOT, env={**env, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "证券信息更新文件" in output and str(var / "symbols.json") in output, output
        assert "Traceback" not in output
