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
    ENDPOINTS_CONTEXT,
    LlmConfig,
    LlmDecision,
    LlmFailure,
    LlmStrategy,
    param_schema,
    parse_answer,
    summarize,
)
from aigupiao.strategy.llm_endpoint import LlmEndpoint
from aigupiao.strategy.registry import BUILTINS, DEFAULT_SET, create, describe_builtins
from aigupiao.strategy.state import MarketState

from .build import MOUTAI, NOW, PINGAN, bars, context, holding, quote

KEY = "sk-unit-secret-42"
ENDPOINTS = {
    "deepseek": LlmEndpoint(
        base_url="http://127.0.0.1:9/v1",
        models=("deepseek-chat", "deepseek-reasoner"),
        api_key_env="AIGUPIAO_UNIT_LLM_KEY",
    ),
    "local": LlmEndpoint(base_url="http://127.0.0.1:11434/v1/", models=("qwen2.5:7b",)),
}


def llm(**config: Any) -> LlmStrategy:
    strategy = create("llm", {"endpoint": "deepseek", **config})
    assert isinstance(strategy, LlmStrategy)
    strategy.use_endpoints(ENDPOINTS)
    return strategy


def checked(params: dict[str, Any]) -> LlmConfig:
    """Validated as the API does: with the allowlist."""
    return LlmConfig.model_validate(params, context={ENDPOINTS_CONTEXT: ENDPOINTS})


# -- registration and config ---------------------------------------------------------------


def test_registered_but_never_in_the_default_set() -> None:
    assert BUILTINS["llm"] is LlmStrategy and "llm" not in DEFAULT_SET
    (described,) = [d for d in describe_builtins() if d["name"] == "llm"]
    assert described["default"] is False
    properties = described["schema"]["properties"]
    assert "endpoint" in properties and "model" in properties
    assert not {"base_url", "api_key", "api_key_env"} & set(properties)


def test_without_config_it_is_off_and_asks_nothing() -> None:
    strategy = create("llm")
    assert isinstance(strategy, LlmStrategy) and not strategy.enabled
    state = MarketState()
    state.on_quote(quote(PINGAN, "9.00"))
    assert strategy.evaluate(context(state)) == []  # no event loop needed, none started
    assert strategy.series_needed() == [] and strategy.status()["running"] is False
    assert strategy.stats.requests == 0 and strategy.last_error is None
    reason = strategy.status()["not_configured"]
    assert "未配置大模型接口" in reason and "agent.llm.endpoints" in reason


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
        {"endpoint": "not valid"},
        {"model": ""},
        {"endpoints": {"x": {"base_url": "http://evil/v1", "models": ["m"]}}},
        {"typo": 1},
    ],
)
def test_config_is_bounded(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LlmConfig.model_validate({"endpoint": "deepseek", **bad})


@pytest.mark.parametrize(
    "param",
    [
        {"base_url": "http://127.0.0.1:1/v1"},
        {"base_url": None},
        {"api_key_env": "HOME"},
        {"api_key": KEY},
        {"api_key": "**********"},
    ],
)
def test_where_it_sends_and_which_variable_it_reads_are_never_params(
    param: dict[str, Any],
) -> None:
    """Whatever the value, with or without the allowlist: the config file's, not the API's."""
    (name,) = param
    for validate in (LlmConfig.model_validate, checked):
        with pytest.raises(ValidationError) as error:
            validate({"endpoint": "deepseek", **param})
        (problem,) = error.value.errors()
        assert problem["loc"] == (name,) and problem["type"] == "operator_only"
        assert name in problem["msg"] and "agent.llm.endpoints" in problem["msg"]
        assert "运营者" in problem["msg"] and "never through the params" in problem["msg"]
        assert KEY not in str(error.value)
    with pytest.raises(ValidationError):
        llm().configure(**param)


def test_the_endpoint_and_model_must_be_allowlisted_when_the_api_checks() -> None:
    assert checked({"endpoint": "local"}).model is None  # the endpoint's first model
    assert checked({"endpoint": "deepseek", "model": "deepseek-reasoner"}).endpoint == "deepseek"
    with pytest.raises(ValidationError) as error:
        checked({"endpoint": "evil"})
    (problem,) = error.value.errors()
    assert problem["loc"] == ("endpoint",) and problem["type"] == "endpoint_not_allowed"
    assert "deepseek, local" in problem["msg"] and "allowlist" in problem["msg"]
    with pytest.raises(ValidationError) as error:
        checked({"endpoint": "local", "model": "deepseek-chat"})
    (problem,) = error.value.errors()
    assert problem["loc"] == ("model",) and "qwen2.5:7b" in problem["msg"]
    with pytest.raises(ValidationError, match="无 none"):
        LlmConfig.model_validate({"endpoint": "local"}, context={ENDPOINTS_CONTEXT: {}})
    # without the context (a stored setting after the operator changed the list) it loads,
    # and the strategy says it is off and why
    assert LlmConfig(endpoint="evil").endpoint == "evil"


@pytest.mark.parametrize(
    ("config", "endpoints", "expected"),
    [
        ({"endpoint": "deepseek"}, {}, "no LLM endpoint configured"),
        ({}, ENDPOINTS, "no endpoint chosen: set the param endpoint to one of deepseek, local"),
        ({"endpoint": "evil"}, ENDPOINTS, "endpoint evil is not in agent.llm.endpoints"),
        ({"endpoint": "local", "model": "gpt-4o"}, ENDPOINTS, "model gpt-4o is not allowed"),
    ],
)
def test_off_until_an_allowlisted_endpoint_and_model_are_chosen(
    config: dict[str, Any], endpoints: dict[str, LlmEndpoint], expected: str
) -> None:
    strategy = LlmStrategy(LlmConfig(**config), endpoints=endpoints)
    state = MarketState()
    state.on_quote(quote(PINGAN, "10.50"))
    assert not strategy.enabled and strategy.evaluate(context(state)) == []
    status = strategy.status()
    assert status["enabled"] is False and expected in status["not_configured"]
    assert strategy.stats.requests == 0 and not strategy.stats.failures  # nothing attempted


def test_the_endpoint_and_model_in_use() -> None:
    strategy = llm()
    target = strategy.target()
    assert not isinstance(target, str)
    name, endpoint, model = target
    assert (name, model) == ("deepseek", "deepseek-chat") and endpoint is ENDPOINTS["deepseek"]
    assert endpoint.chat_url == "http://127.0.0.1:9/v1/chat/completions"
    assert ENDPOINTS["local"].chat_url == "http://127.0.0.1:11434/v1/chat/completions"
    strategy.configure(model="deepseek-reasoner")
    assert strategy.status()["model"] == "deepseek-reasoner"


def test_nothing_secret_or_operator_only_shows(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Params, status and schema name endpoints and models: no URL, variable or key."""
    monkeypatch.setenv("AIGUPIAO_UNIT_LLM_KEY", KEY)
    strategy = llm()
    dumped = strategy.config.model_dump(mode="json")
    assert dumped["endpoint"] == "deepseek" and not {"base_url", "api_key", "api_key_env"} & set(
        dumped
    )
    schema = param_schema(ENDPOINTS)
    assert schema["properties"]["endpoint"]["enum"] == ["deepseek", "local"]
    status = strategy.status()
    assert status["endpoints"] == {
        "deepseek": ["deepseek-chat", "deepseek-reasoner"],
        "local": ["qwen2.5:7b"],
    }
    shown = json.dumps([dumped, schema, status, repr(strategy.config)], ensure_ascii=False)
    for secret in (KEY, "AIGUPIAO_UNIT_LLM_KEY", "127.0.0.1", "base_url", "api_key"):
        assert secret not in shown, secret
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
