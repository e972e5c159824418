"""CloudSettings and LocalSettings: defaults < JSON file < AIGUPIAO_* environment < overrides."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.config import ConfigError
from aigupiao.local.settings import LocalSettings

from ..conftest import ROOT

EXAMPLES = ROOT / "examples"
REAL_TOKEN = "agn_3mQx9v-Zr2LkT7pWcYh8NfJd4sGbE1aUoKqR6tVyXi0"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own AIGUPIAO_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("AIGUPIAO_"):
            monkeypatch.delenv(name)


def _write(path: Path, content: dict[str, Any] | str) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _local_example(tmp_path: Path, **changes: Any) -> Path:
    """The shipped local example with a real-looking token (and ``changes`` per section)."""
    config = json.loads((EXAMPLES / "local_config.json").read_text(encoding="utf-8"))
    config["cloud"]["token"] = REAL_TOKEN
    for section, values in changes.items():
        config[section] = {**config.get(section, {}), **values}
    return _write(tmp_path / "local_config.json", config)


# -- defaults --------------------------------------------------------------------------


def test_cloud_defaults_match_the_seed() -> None:
    settings = CloudSettings.load(None)
    assert settings.local_trading.api_timeout == 30
    assert settings.local_trading.retry_attempts == 3
    assert settings.local_trading.command_ttl == 10
    assert settings.agent.decision_interval == 3
    assert settings.agent.risk_threshold == Decimal("0.08")
    assert isinstance(settings.agent.risk_threshold, Decimal)
    assert settings.agent.max_position_size == Decimal("0.1")
    assert isinstance(settings.agent.max_position_size, Decimal)
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8000)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_local_defaults_match_the_seed() -> None:
    settings = LocalSettings.load(None)
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8888)
    assert settings.server.api_key is None
    assert settings.trading.software_check_interval == 5
    assert settings.trading.export_cleanup_hours == 24
    assert settings.trading.broker == "paper"
    assert settings.trading.paper_cash == Decimal("1000000")
    assert settings.cloud.token is None
    assert settings.cloud.websocket_url.endswith("/api/cloud-local-trading/ws")


def test_settings_are_frozen() -> None:
    settings = CloudSettings.load(None)
    with pytest.raises(ValidationError):
        settings.server.port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.database_url = "x"  # type: ignore[misc]


# -- the shipped examples --------------------------------------------------------------


def test_cloud_example_loads_with_exact_decimals() -> None:
    settings = CloudSettings.load(EXAMPLES / "cloud_config.json")
    assert settings.local_trading.api_timeout == 30
    assert settings.local_trading.retry_attempts == 3
    assert settings.agent.decision_interval == 3
    # JSON floats become exact decimals, never 0.08000000000000000166...
    assert str(settings.agent.risk_threshold) == "0.08"
    assert str(settings.agent.max_position_size) == "0.1"
    assert settings.agent.dip_threshold == Decimal("-0.05")
    assert settings.market.feed == "sim" and settings.market.symbols == 50


def test_local_example_with_its_placeholder_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"cloud\.token") as info:
        LocalSettings.load(EXAMPLES / "local_config.json")
    assert "占位符" in str(info.value) and "placeholder" in str(info.value)


@pytest.mark.parametrize("placeholder", ["your-token", "CHANGE_ME", "paste here"])
def test_other_placeholder_secrets_are_refused(placeholder: str) -> None:
    with pytest.raises(ConfigError, match=r"cloud\.token"):
        LocalSettings.load(None, cloud={"token": placeholder})
    with pytest.raises(ConfigError, match=r"server\.api_key"):
        LocalSettings.load(None, server={"api_key": placeholder})


def test_local_example_with_a_real_token_loads(tmp_path: Path) -> None:
    settings = LocalSettings.load(_local_example(tmp_path))
    assert settings.cloud.token == REAL_TOKEN
    assert settings.server.port == 8888 and settings.server.api_key is None
    assert settings.trading.paper_cash == Decimal("1000000")
    assert settings.node.id == "local-1" and settings.node.account == "paper-1"
    assert settings.node.data_dir == Path("var/node")


# -- environment -----------------------------------------------------------------------


def test_environment_wins_over_the_file_and_merges_nested_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write(
        tmp_path / "cloud.json",
        {
            "server": {"host": "127.0.0.1", "port": 8100},
            "database_url": "sqlite+aiosqlite:///from-file.db",
            "local_trading": {"api_timeout": 30, "retry_attempts": 7},
        },
    )
    before = CloudSettings.load(config)
    assert (before.local_trading.api_timeout, before.server.port) == (30, 8100)
    monkeypatch.setenv("AIGUPIAO_LOCAL_TRADING__API_TIMEOUT", "5")
    monkeypatch.setenv("AIGUPIAO_SERVER__PORT", "9999")
    monkeypatch.setenv("AIGUPIAO_DATABASE_URL", "postgresql+asyncpg://u@db.example/aig")
    settings = CloudSettings.load(config)
    assert settings.local_trading.api_timeout == 5
    assert settings.server.port == 9999
    assert settings.database_url == "postgresql+asyncpg://u@db.example/aig"
    # The rest of each section still comes from the file.
    assert settings.local_trading.retry_attempts == 7
    assert settings.server.host == "127.0.0.1"


def test_environment_applies_to_the_local_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUPIAO_SERVER__PORT", "9999")
    monkeypatch.setenv("AIGUPIAO_TRADING__PAPER_CASH", "50000.50")
    settings = LocalSettings.load(_local_example(tmp_path))
    assert settings.server.port == 9999
    assert settings.trading.paper_cash == Decimal("50000.50")
    assert settings.cloud.token == REAL_TOKEN


def test_explicit_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUPIAO_SERVER__PORT", "9999")
    assert CloudSettings.load(None, server={"port": 1234}).server.port == 1234


def test_an_invalid_environment_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUPIAO_SERVER__PORT", "eighty")
    with pytest.raises(ConfigError, match=r"server\.port"):
        CloudSettings.load(None)


# -- bad files and keys ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ({"bogus": 1}, "bogus"),
        ({"server": {"prot": 8000}}, r"server\.prot"),
        ({"local_trading": {"api_timout": 5}}, r"local_trading\.api_timout"),
    ],
    ids=["top-level", "server", "local_trading"],
)
def test_unknown_cloud_keys_are_rejected_by_name(
    tmp_path: Path, content: dict[str, Any], key: str
) -> None:
    config = _write(tmp_path / "cloud.json", content)
    with pytest.raises(ConfigError, match=key):
        CloudSettings.load(config)


def test_unknown_local_keys_are_rejected_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trading_mode"):
        LocalSettings.load(_write(tmp_path / "a.json", {"trading_mode": "live"}))
    with pytest.raises(ConfigError, match=r"node\.name"):
        LocalSettings.load(_write(tmp_path / "b.json", {"node": {"name": "pc"}}))


def test_unknown_nested_key_in_the_environment_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIGUPIAO_SERVER__PROT", "8000")
    with pytest.raises(ConfigError, match=r"server\.prot"):
        CloudSettings.load(None)


@pytest.mark.parametrize("text", ["{not json", "", '{"server": {"port": 1,}}'])
def test_malformed_json_is_a_config_error(tmp_path: Path, text: str) -> None:
    config = _write(tmp_path / "cloud.json", text)
    with pytest.raises(ConfigError, match="JSON") as info:
        CloudSettings.load(config)
    assert str(config) in str(info.value)


def test_invalid_values_are_a_config_error(tmp_path: Path) -> None:
    config = _write(tmp_path / "cloud.json", {"agent": {"risk_threshold": 2}})
    with pytest.raises(ConfigError, match=r"agent\.risk_threshold"):
        CloudSettings.load(config)


@pytest.mark.parametrize("text", ["null", "1", '"x"', "[]", "[1, 2]"])
def test_json_that_is_not_an_object_is_a_config_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        CloudSettings.load(_write(tmp_path / "cloud.json", text))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError, match="不存在") as info:
        LocalSettings.load(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(ConfigError):
        CloudSettings.load(tmp_path)  # a directory is not a config file


# -- binding beyond loopback -----------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "node.example.com"])
def test_non_loopback_bind_without_api_key_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match=r"server\.api_key") as info:
        LocalSettings.load(None, server={"host": host})
    assert host in str(info.value)
    with pytest.raises(ConfigError, match=r"server\.api_key"):
        LocalSettings.load(None, server={"host": host, "api_key": ""})


def test_non_loopback_bind_with_api_key_is_accepted(tmp_path: Path) -> None:
    settings = LocalSettings.load(None, server={"host": "0.0.0.0", "api_key": "s3cret-key"})
    assert settings.server.host == "0.0.0.0" and settings.server.api_key == "s3cret-key"
    from_file = LocalSettings.load(
        _local_example(tmp_path, server={"host": "0.0.0.0", "api_key": "s3cret-key"})
    )
    assert from_file.server.host == "0.0.0.0"


def test_non_loopback_bind_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUPIAO_SERVER__HOST", "0.0.0.0")
    with pytest.raises(ConfigError, match=r"server\.api_key"):
        LocalSettings.load(_local_example(tmp_path))
    monkeypatch.setenv("AIGUPIAO_SERVER__API_KEY", "s3cret-key")
    assert LocalSettings.load(_local_example(tmp_path)).server.host == "0.0.0.0"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_api_key(host: str) -> None:
    settings = LocalSettings.load(None, server={"host": host})
    assert settings.server.host == host and settings.server.api_key is None
