"""The LLM strategy without a server: config, secrecy, the summary, parsing an answer,
and turning decisions into signals. The HTTP side is in
tests/integration/test_llm_strategy.py, against a real chat-completions server."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from aigupiao.domain.symbols import parse_symbol
from aigupiao.strategy.base import StrategyContext
from aigupiao.strategy.llm import (
    ANSWER_SCHEMA,
    MASK,
    LlmConfig,
    LlmDecision,
    LlmFailure,
    LlmStrategy,
    parse_answer,
    summarize,
)
from aigupiao.strategy.registry import BUILTINS, DEFAULT_SET, create, describe_builtins
from aigupiao.strategy.state import MarketState

from .build import MOUTAI, NOW, PINGAN, bars, context, holding, quote

ENDPOINT = {"base_url": "http://127.0.0.1:9/v1", "model": "deepseek-chat"}
KEY = "sk-unit-secret-42"


def llm(**config: Any) -> LlmStrategy:
    strategy = create("llm", {**ENDPOINT, **config})
    assert isinstance(strategy, LlmStrategy)
    return strategy


# -- registration and config ---------------------------------------------------------------


def test_registered_but_never_in_the_default_set() -> None:
    assert BUILTINS["llm"] is LlmStrategy and "llm" not in DEFAULT_SET
    (described,) = [d for d in describe_builtins() if d["name"] == "llm"]
    assert described["default"] is False
    assert described["schema"]["properties"]["api_key"]["anyOf"][0]["writeOnly"] is True


def test_without_config_it_is_off_and_asks_nothing() -> None:
    strategy = create("llm")
    assert isinstance(strategy, LlmStrategy) and not strategy.enabled
    state = MarketState()
    state.on_quote(quote(PINGAN, "9.00"))
    assert strategy.evaluate(context(state)) == []  # no event loop needed, none started
    assert strategy.series_needed() == [] and strategy.status()["running"] is False
    assert strategy.stats.requests == 0 and strategy.last_error is None


@pytest.mark.parametrize(
    "bad",
    [
        {"timeout": 0},
        {"timeout": 301},
        {"min_interval": 0.5},
        {"max_symbols": 0},
        {"max_decisions": 21},
        {"temperature": 2.5},
        {"max_tokens": 10},
        {"response_format": "xml"},
        {"base_url": "ftp://example.com"},
        {"api_key_env": "NOT VALID"},
        {"typo": 1},
    ],
)
def test_config_is_bounded(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LlmConfig.model_validate({**ENDPOINT, **bad})


def test_endpoint_and_model_go_together() -> None:
    with pytest.raises(ValidationError, match="go together"):
        LlmConfig(base_url="http://localhost:11434/v1")
    with pytest.raises(ValidationError, match="go together"):
        LlmConfig(model="qwen2.5")


def test_the_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    strategy = llm(api_key=KEY)
    config = strategy.config
    assert KEY not in repr(config) and KEY not in str(config)
    assert config.model_dump(mode="json")["api_key"] == MASK
    assert KEY not in json.dumps(strategy.status())
    with pytest.raises(ValidationError) as error:
        LlmConfig(base_url="http://x/v1", api_key=KEY)  # an error does not echo the input
    assert KEY not in str(error.value)
    # a dump sent back keeps the key; the mask itself never becomes the key
    strategy.configure(**{**config.model_dump(mode="json"), "temperature": 0.5})
    assert strategy.config.api_key is not None
    assert strategy.config.api_key.get_secret_value() == KEY
    assert strategy.config.temperature == 0.5
    assert llm(api_key=MASK).config.api_key is None
    with caplog.at_level(logging.DEBUG):
        strategy.evaluate(context(MarketState()))  # no loop: logged as a failure
    assert caplog.records and not any(KEY in r.getMessage() for r in caplog.records)


def test_without_a_running_loop_it_fails_quietly() -> None:
    state = MarketState()
    state.on_quote(quote(PINGAN, "10.50"))
    strategy = llm()
    assert strategy.evaluate(context(state)) == []
    assert strategy.stats.failures == {"no_loop": 1}
    assert strategy.last_error is not None and strategy.last_error.startswith("no_loop")


# -- the summary ----------------------------------------------------------------------------


def market_with_history() -> MarketState:
    state = MarketState()
    state.load_history(PINGAN, bars(PINGAN, [10.0 + 0.1 * i for i in range(25)], volume=10**7))
    state.load_history(MOUTAI, bars(MOUTAI, [1500.0] * 25))
    st = parse_symbol("sz000004")
    state.on_quotes(
        [
            quote(PINGAN, "13.60", "12.40", name="平安银行"),
            quote(MOUTAI, "1470.00", "1500.00", name="贵州茅台"),
            quote(st, "5.20", "5.00", name="*ST国华"),  # the filter keeps ST out
            *[quote(parse_symbol(f"sh60{i:04d}"), f"10.{i}0", "10.00") for i in range(1, 7)],
        ]
    )
    return state


def test_summary_has_movers_positions_cash_and_indicators() -> None:
    state = market_with_history()
    held = holding(MOUTAI, shares=300, cost="1600.00")
    strategy = llm(max_symbols=4)
    summary, rows = summarize(
        context(state, positions=[held]), state, strategy.config, ["sh600001"]
    )
    assert summary["now"] == "2026-03-03T10:00:00+08:00"
    assert summary["account"]["cash"] == 1_000_000.0 and summary["proposed_today"] == ["sh600001"]
    movers = [
        dict(zip(summary["movers"]["fields"], r, strict=True)) for r in summary["movers"]["rows"]
    ]
    # two strongest risers, then the two strongest fallers; no ST
    assert [m["code"] for m in movers] == ["sz000001", "sh600006", "sh600519", "sh600001"]
    pingan = rows["sz000001"]
    assert pingan["change_pct"] == 9.677 and pingan["ma5"] is not None
    assert pingan["rsi14"] == 100.0 and pingan["ma20"] is not None
    assert pingan["volume_ratio"] is not None and pingan["amount_wan"] == 1360.0
    assert movers[1]["rsi14"] is None  # no history: no daily indicators
    (position,) = summary["account"]["positions"]["rows"]
    row = dict(zip(summary["account"]["positions"]["fields"], position, strict=True))
    assert (row["total"], row["available"], row["cost"], row["last"]) == (300, 300, 1600, 1470)
    assert (row["pnl"], row["pnl_pct"], row["change_pct"]) == (-39000.0, -8.13, -2.0)
    assert rows["sh600519"] == {**row, **movers[2]}  # a held mover: both rows, for the inputs
    assert len(json.dumps(summary, ensure_ascii=False, separators=(",", ":"))) < 2000


def test_summary_without_market_state_or_account() -> None:
    plain = StrategyContext(now=NOW, quotes={"sz000001": quote(PINGAN, "10.50")}, account=None)
    strategy = llm()
    summary, _ = summarize(plain, strategy.market(plain), strategy.config, [])
    assert summary["account"]["cash"] is None and summary["account"]["positions"]["rows"] == []
    assert summary["movers"]["rows"][0][:3] == ["sz000001", "测试", 10.5]


# -- parsing answers ------------------------------------------------------------------------


def completion(content: object, status: int = 200) -> httpx.Response:
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    return httpx.Response(status, json=body)


def test_parse_answer_keeps_prices_exact() -> None:
    text = '{"decisions": [{"action": "buy", "code": "sz000001", "quantity": 100, ' \
        '"target_weight": null, "price": 10.12, "confidence": 0.9, "reason": "理由"}]}'  # fmt: skip
    (raw,) = parse_answer(completion(text))
    assert raw["price"] == Decimal("10.12") and type(raw["price"]) is Decimal
    assert LlmDecision.model_validate(raw).price == Decimal("10.12")
    fenced = parse_answer(completion(f"```json\n{text}\n```"))
    assert fenced == [raw]


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (completion("not json"), "bad_json"),
        (completion('{"decisions": [Infinity]}'), "bad_json"),
        (completion('{"decisions": [], "note": "x"}'), "schema"),
        (completion('"decisions"'), "schema"),
        (completion(""), "empty"),
        (completion(None), "empty"),
        (httpx.Response(200, json={"error": "x"}), "bad_response"),
        (httpx.Response(200, text="<html>"), "bad_response"),
        (httpx.Response(503, text="busy"), "http_503"),
        (httpx.Response(401, json={"error": {"message": "bad key"}}), "http_401"),
    ],
)
def test_parse_answer_failures(response: httpx.Response, kind: str) -> None:
    with pytest.raises(LlmFailure) as failure:
        parse_answer(response)
    assert failure.value.kind == kind


def _decision(**changes: Any) -> dict[str, Any]:
    values = {"action": "sell", "code": "sh600519", "quantity": None,
              "target_weight": Decimal("0.05"), "price": Decimal("1470.5"),
              "confidence": Decimal("0.4"), "reason": "减仓"}  # fmt: skip
    return {**values, **changes}


def test_decision_schema_is_strict() -> None:
    assert LlmDecision.model_validate(_decision()).target_weight == Decimal("0.05")
    assert LlmDecision.model_validate(_decision(confidence=1)).confidence == 1.0
    for bad in (
        {"price": "1470.50"},  # a number as text
        {"confidence": True},
        {"quantity": True, "target_weight": None},
        {"quantity": None, "target_weight": None},
        {"target_weight": Decimal("1.5")},
        {"price": Decimal(0)},
        {"reason": ""},
        {"code": 600519},
    ):
        with pytest.raises(ValidationError):
            LlmDecision.model_validate(_decision(**bad))


def test_the_schema_sent_matches_the_model() -> None:
    item = ANSWER_SCHEMA["properties"]["decisions"]["items"]
    assert set(item["properties"]) == set(LlmDecision.model_fields) == set(item["required"])
    assert item["additionalProperties"] is False


def test_requests_only_in_continuous_trading_unless_told() -> None:
    """Without a loop a due request fails as ``no_loop``: that shows when one is due."""
    state = MarketState()
    state.on_quote(quote(PINGAN, "10.50"))

    def asks(strategy: LlmStrategy, hour: int, minute: int = 0) -> bool:
        before = strategy.stats.failures["no_loop"]
        strategy.evaluate(context(state, now=NOW.replace(hour=hour, minute=minute)))
        return strategy.stats.failures["no_loop"] > before

    strategy = llm()
    assert not asks(strategy, 12) and not asks(strategy, 9, 20) and not asks(strategy, 15, 30)
    assert asks(strategy, 10) and asks(strategy, 14, 56)
    assert asks(llm(trading_hours_only=False), 12)
