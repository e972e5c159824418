"""Choosing the local node's broker from trading.broker, and the Windows guide's examples."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aigupiao.brokers.base import BrokerUnavailable
from aigupiao.brokers.extras import ExtraMissing
from aigupiao.brokers.paper import PaperBroker
from aigupiao.brokers.ths import ThsBroker
from aigupiao.brokers.ths import broker as ths_module
from aigupiao.cli.brokers import BROKERS, UnknownBroker, build_broker
from aigupiao.core.clock import LiveClock
from aigupiao.local.settings import LocalSettings

from ...conftest import ROOT

REAL_TOKEN = "agn_3mQx9v-Zr2LkT7pWcYh8NfJd4sGbE1aUoKqR6tVyXi0"


def settings(tmp_path: Path, **trading: Any) -> LocalSettings:
    return LocalSettings.load(
        None, trading=trading, node={"account": "acct-1", "data_dir": tmp_path / "node"}
    )


def no_quotes(code: str) -> None:
    return None


def test_paper_is_the_default(tmp_path: Path) -> None:
    broker = build_broker(settings(tmp_path, paper_cash="500000"), LiveClock(), no_quotes)
    assert isinstance(broker, PaperBroker)
    assert broker.account_id == "acct-1"


def test_an_unknown_broker_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownBroker) as caught:
        build_broker(settings(tmp_path, broker="futu"), LiveClock(), no_quotes)
    message = str(caught.value)
    assert "futu" in message and "paper, ths, qmt" in message
    assert "未知" in message and "unknown" in message
    assert BROKERS == ("paper", "ths", "qmt")


@pytest.mark.parametrize(("name", "extra"), [("ths", "aigupiao[ths]"), ("qmt", "aigupiao[qmt]")])
def test_a_live_broker_here_says_it_needs_windows(tmp_path: Path, name: str, extra: str) -> None:
    with pytest.raises(ExtraMissing) as caught:
        build_broker(settings(tmp_path, broker=name), LiveClock(), no_quotes)
    assert extra in caught.value.message_en and "Windows" in caught.value.message_zh


async def test_the_ths_settings_reach_the_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ths_module, "missing_reason", lambda: None)  # as on Windows with the extra
    with pytest.raises(BrokerUnavailable) as caught:
        build_broker(settings(tmp_path, broker="ths"), LiveClock(), no_quotes)
    assert "ths_client_path" in caught.value.message_zh
    broker = build_broker(
        settings(
            tmp_path,
            broker="ths",
            ths_client_path="C:/同花顺/xiadan.exe",
            step_timeout=7,
            poll_interval=0,
        ),
        LiveClock(),
        no_quotes,
    )
    try:
        assert isinstance(broker, ThsBroker) and broker.account_id == "acct-1"
        assert (tmp_path / "node" / "ths_orders.db").is_file()
    finally:
        await broker.close()


def test_the_settings_are_documented() -> None:
    fields = LocalSettings.model_fields["trading"].annotation.model_fields  # type: ignore[union-attr]
    for name in ("broker", "step_timeout", "poll_interval", "ths_client_path", "ths_client_type",
                 "ths_grid_strategy", "ths_type_keys", "qmt_path", "qmt_account",
                 "qmt_session_id"):  # fmt: skip
        assert fields[name].description, name
    trading = LocalSettings.load(None).trading
    assert (trading.step_timeout, trading.poll_interval, trading.ths_client_type) == (10, 3, "ths")
    assert trading.paper_cash == Decimal("1000000")


def _guide_examples() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "windows.md").read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def test_the_windows_guides_configurations_load(tmp_path: Path) -> None:
    examples = _guide_examples()
    assert [e["trading"]["broker"] for e in examples] == ["ths", "qmt"]
    for example in examples:
        example["cloud"]["token"] = REAL_TOKEN
        path = tmp_path / "local_config.json"
        path.write_text(json.dumps(example, ensure_ascii=False), encoding="utf-8")
        loaded = LocalSettings.load(path)
        assert loaded.trading.broker == example["trading"]["broker"]
    assert str(LocalSettings.load(path).trading.qmt_path).endswith("userdata_mini")


def _local(config: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "local_config.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIGUPIAO_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1"})
    return subprocess.run(
        [sys.executable, "-m", "aigupiao.cli", "local", "--config", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("broker", "needles"),
    [
        ("ths", ["aigupiao[ths]", "Windows"]),
        ("qmt", ["xtquant", "PYTHONPATH"]),
        ("futu", ["futu", "paper, ths, qmt"]),
    ],
)
def test_aigupiao_local_refuses_a_broker_it_cannot_run(
    tmp_path: Path, broker: str, needles: list[str]
) -> None:
    config = {
        "server": {"port": 0},
        "cloud": {"api_url": "http://127.0.0.1:9", "token": REAL_TOKEN},
        "trading": {"broker": broker},
        "node": {"data_dir": str(tmp_path / "node")},
    }
    result = _local(config, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    assert "错误 (error)" in output
    for needle in needles:
        assert needle in output, output


def test_the_self_check_refuses_a_broker_it_cannot_run(tmp_path: Path) -> None:
    path = tmp_path / "local_config.json"
    path.write_text(json.dumps({"trading": {"broker": "ths"}}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "aigupiao.cli.broker_check", "--config", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "aigupiao[ths]" in output and "Traceback" not in output


def test_the_self_check_reads_the_paper_broker(tmp_path: Path) -> None:
    path = tmp_path / "local_config.json"
    path.write_text(json.dumps({"node": {"data_dir": str(tmp_path / "node")}}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "aigupiao.cli.broker_check", "--config", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "self-check passed" in output and "cash 1000000" in output
