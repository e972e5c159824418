"""The LLM strategy against a real chat-completions server on 127.0.0.1.

:class:`ChatServer` is a Starlette app under uvicorn on a free port that speaks the
OpenAI chat-completions protocol (``POST /v1/chat/completions``). It records every request
(headers and JSON body) and answers from a script: a JSON content string, an HTTP status,
a hang (until released: a timeout), or a 400 to ``json_schema`` (an endpoint without
structured outputs, like DeepSeek), or a redirect. Time is a :class:`ManualClock`; waiting
is ``eventually()``, never a fixed sleep.

Where the strategy may send is the operator's allowlist (``agent.llm.endpoints``): the
last tests run the whole cloud (``running_stack``) with one allowlisted chat server and
a second one standing in for an attacker's URL, and send issue 12's attack through
``PUT /api/agent/strategies/llm``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import Database, SettingRepo
from aigupiao.strategy import llm as llm_module
from aigupiao.strategy.llm import ANSWER_SCHEMA, LlmStrategy
from aigupiao.strategy.llm_endpoint import LlmEndpoint
from aigupiao.strategy.registry import create
from aigupiao.strategy.state import MarketState

from ..conftest import eventually
from ..unit.strategy.build import MOUTAI, NOW, PINGAN, context, holding, quote
from .stack import Running, running_stack, serve

STAR = parse_symbol("sh688981")
KEY = "sk-test-0123456789"
KEY_ENV = "AIGUPIAO_TEST_LLM_KEY"
HANG = "hang"
REFUSE_SCHEMA = "refuse_schema"
REDIRECT = "redirect:"  # + a URL: answer 307 to it
# what a content step may also be: made from the request's body
Step = str | int | Callable[[dict[str, Any]], str]


@dataclass
class ChatServer:
    """A real chat-completions endpoint with a script of answers (see the module docstring)."""

    script: deque[Step] = field(default_factory=deque)  # content, status, HANG, ...
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    running: Running | None = None

    @property
    def base_url(self) -> str:
        assert self.running is not None
        return f"http://127.0.0.1:{self.running.port}/v1"

    def endpoint(self, *models: str, key_env: str | None = KEY_ENV) -> dict[str, Any]:
        """This server as an entry of ``agent.llm.endpoints``."""
        return {"base_url": self.base_url, "models": list(models or ["deepseek-chat"]),
                "api_key_env": key_env}  # fmt: skip

    async def _complete(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        step = self.script.popleft() if self.script else '{"decisions": []}'
        if callable(step):
            step = step(body)
        if isinstance(step, str) and step.startswith(REDIRECT):
            return RedirectResponse(step.removeprefix(REDIRECT), status_code=307)  # type: ignore[return-value]
        if step == REFUSE_SCHEMA:
            if body["response_format"]["type"] == "json_schema":
                error = {"message": "This response_format type is unavailable now"}
                return JSONResponse({"error": error}, status_code=400)
            step = self.script.popleft() if self.script else '{"decisions": []}'
            assert not callable(step)
        if step == HANG:
            await self.release.wait()
            step = '{"decisions": []}'
        if isinstance(step, int):
            return JSONResponse({"error": {"message": "server error"}}, status_code=step)
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": step},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ChatServer]:
    monkeypatch.setenv(KEY_ENV, KEY)
    chat = ChatServer()
    chat.running = await serve(chat.app())
    try:
        yield chat
    finally:
        chat.release.set()
        await chat.running.stop()


@pytest.fixture
async def attacker() -> AsyncIterator[ChatServer]:
    """Where issue 12's attack pointed the strategy: it must never hear from it."""
    chat = ChatServer()
    chat.running = await serve(chat.app())
    try:
        yield chat
    finally:
        await chat.running.stop()


@pytest.fixture
def market() -> MarketState:
    state = MarketState()
    state.on_quotes(
        [
            quote(PINGAN, "10.50", "10.00", name="平安银行"),
            quote(MOUTAI, "1470.00", "1500.00", name="贵州茅台"),
            quote(STAR, "50.00", "48.00", name="中芯国际"),
        ]
    )
    return state


def strategy_for(server: ChatServer, **config: Any) -> LlmStrategy:
    strategy = create("llm", {"endpoint": "test", "model": "deepseek-chat", **config})
    assert isinstance(strategy, LlmStrategy)
    strategy.use_endpoints({"test": LlmEndpoint.model_validate(server.endpoint())})
    return strategy


def answer(*decisions: dict[str, Any]) -> str:
    return json.dumps({"decisions": list(decisions)}, ensure_ascii=False)


def decision(**values: Any) -> dict[str, Any]:
    base = {"action": "buy", "code": "sz000001", "quantity": 100, "target_weight": None,
            "price": None, "confidence": 0.7, "reason": "放量上涨"}  # fmt: skip
    return {**base, **values}


async def answered(strategy: LlmStrategy, count: int) -> None:
    await eventually(
        lambda: strategy.stats.answers + sum(strategy.stats.failures.values()) >= count
    )


async def test_request_carries_the_summary_and_a_good_answer_becomes_signals(
    server: ChatServer, market: MarketState
) -> None:
    server.script.append(
        '{"decisions": ['
        '{"action": "buy", "code": "sz000001", "quantity": 200, "target_weight": null,'
        ' "price": 10.52, "confidence": 0.8, "reason": "放量突破，买入两手"},'
        '{"action": "sell", "code": "sh600519", "quantity": null, "target_weight": 0,'
        ' "price": null, "confidence": 0.6, "reason": "跌破成本，清仓"},'
        '{"action": "buy", "code": "688981", "quantity": 201, "target_weight": null,'
        ' "price": 50.01, "confidence": 0.5, "reason": "科创板可按 1 股递增"}]}'
    )
    clock = ManualClock(NOW)
    strategy = strategy_for(server)
    held = holding(MOUTAI, shares=300, cost="1600.00")
    try:
        assert strategy.evaluate(context(market, now=clock.now(), positions=[held])) == []
        await answered(strategy, 1)

        (sent,) = server.requests
        assert sent["headers"]["authorization"] == f"Bearer {KEY}"
        body = sent["body"]
        assert body["model"] == "deepseek-chat" and body["stream"] is False
        assert body["temperature"] == 0.2 and body["max_tokens"] == 2000
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "trading_decisions", "strict": True, "schema": ANSWER_SCHEMA},
        }
        system, user = body["messages"]
        assert system["role"] == "system" and "JSON" in system["content"]
        assert "最多 5 条" in system["content"]
        assert user["role"] == "user"
        summary = json.loads(user["content"])
        assert summary["account"]["cash"] == 1_000_000
        positions = summary["account"]["positions"]
        row = dict(zip(positions["fields"], positions["rows"][0], strict=True))
        assert row["code"] == "sh600519" and row["total"] == 300 and row["cost"] == 1600.0
        assert row["last"] == 1470.0 and row["pnl"] == -39000.0 and row["pnl_pct"] == -8.13
        movers = summary["movers"]
        codes = [r[0] for r in movers["rows"]]
        assert codes == ["sz000001", "sh688981", "sh600519"]  # risers first, then fallers
        first = dict(zip(movers["fields"], movers["rows"][0], strict=True))
        assert first["name"] == "平安银行" and first["change_pct"] == 5.0

        clock.advance(3)
        signals = strategy.evaluate(context(market, now=clock.now(), positions=[held]))
        buy, sell, star = signals
        assert (buy.symbol, buy.side, buy.quantity) == (PINGAN, Side.BUY, 200)
        assert isinstance(buy.price, Decimal) and buy.price == Decimal("10.52")
        assert buy.confidence == 0.8 and buy.reason.startswith("大模型 deepseek-chat 建议买入")
        assert (
            "放量突破，买入两手" in buy.reason and "(LLM deepseek-chat: buy sz000001)" in buy.reason
        )
        assert buy.inputs["model"] == "deepseek-chat" and buy.inputs["last"] == "10.50"
        assert buy.inputs["summary"]["change_pct"] == 5.0
        assert (sell.side, sell.quantity, sell.target_weight, sell.price) == (
            Side.SELL, 0, Decimal(0), None)  # fmt: skip
        assert (star.quantity, star.price) == (201, Decimal("50.01"))
        assert strategy.stats.signals == 3 and not strategy.stats.dropped

        # an answer is returned once; no new request before min_interval
        assert strategy.evaluate(context(market, now=clock.now(), positions=[held])) == []
        assert len(server.requests) == 1 and strategy.last_error is None
    finally:
        await strategy.aclose()


async def test_invalid_decisions_are_dropped_and_counted(
    server: ChatServer, market: MarketState
) -> None:
    server.script.append(
        answer(
            decision(quantity=150),  # not a round lot
            decision(code="sh600000"),  # not in the market
            decision(code="xx12345"),  # not a code
            decision(price=10.555),  # off the tick
            decision(confidence=1.5),  # schema: out of range
            decision(quantity="100"),  # schema: a string
            decision(extra="x"),  # schema: unknown key
            decision(target_weight=0.1),  # schema: quantity and weight
            decision(action="sell", code="sh688981"),  # not held
            decision(action="hold"),  # schema: not an action
            decision(code="sz000001", price=10.5),  # good
            decision(code="sz000001"),  # already proposed (in this answer)
        )
    )
    strategy = strategy_for(server, max_decisions=20)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        (signal,) = strategy.evaluate(context(market))
        assert signal.code == "sz000001" and signal.price == Decimal("10.50")
        assert strategy.stats.dropped == {
            "invalid_lot": 1,
            "unknown_code": 2,
            "off_tick": 1,
            "schema": 5,
            "not_held": 1,
            "already_proposed": 1,
        }
        assert strategy.status()["dropped"]["schema"] == 5
    finally:
        await strategy.aclose()


async def test_more_decisions_than_allowed_are_dropped(
    server: ChatServer, market: MarketState
) -> None:
    server.script.append(
        answer(decision(), decision(code="sh688981", quantity=200), decision(code="sh600519"))
    )
    strategy = strategy_for(server, max_decisions=2)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        assert [s.code for s in strategy.evaluate(context(market))] == ["sz000001", "sh688981"]
        assert strategy.stats.dropped == {"too_many": 1}
    finally:
        await strategy.aclose()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("我觉得应该买平安银行", "bad_json"),
        ('{"decisions": [', "bad_json"),
        ('{"decisions": NaN}', "bad_json"),
        ('{"orders": []}', "schema"),
        ("[]", "schema"),
        ('{"decisions": {}}', "schema"),
        ("   ", "empty"),
    ],
)
async def test_unusable_answers_give_no_signals(
    server: ChatServer, market: MarketState, content: str, kind: str
) -> None:
    server.script.append(content)
    strategy = strategy_for(server)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        assert strategy.evaluate(context(market)) == []
        assert strategy.stats.failures == {kind: 1} and strategy.stats.answers == 0
        assert strategy.last_error is not None and strategy.last_error.startswith(kind)
    finally:
        await strategy.aclose()


async def test_a_timeout_and_a_500_give_no_signals_and_never_block(
    server: ChatServer, market: MarketState, caplog: pytest.LogCaptureFixture
) -> None:
    server.script.extend([HANG, 500, answer(decision())])
    clock = ManualClock(NOW)
    strategy = strategy_for(server, timeout=0.3, min_interval=10)
    caplog.set_level(logging.WARNING, "aigupiao.strategy.llm")
    try:
        assert strategy.evaluate(context(market, now=clock.now())) == []
        await eventually(lambda: server.requests and strategy.status()["in_flight"])
        # the request hangs: evaluate returns at once and asks nothing more meanwhile
        clock.advance(10)
        assert strategy.evaluate(context(market, now=clock.now())) == []
        assert not strategy.status()["pending"] and strategy.stats.requests == 1
        await answered(strategy, 1)
        assert strategy.stats.failures == {"timeout": 1}
        assert strategy.last_error == "timeout: no answer within 0.3s"

        clock.advance(10)
        assert strategy.evaluate(context(market, now=clock.now())) == []
        await answered(strategy, 2)
        assert strategy.stats.failures == {"timeout": 1, "http_500": 1}
        assert strategy.last_error is not None and strategy.last_error.startswith("http_500")
        assert strategy.evaluate(context(market, now=clock.now())) == []

        clock.advance(10)  # the endpoint recovers
        strategy.evaluate(context(market, now=clock.now()))
        await answered(strategy, 3)
        (signal,) = strategy.evaluate(context(market, now=clock.now()))
        assert signal.code == "sz000001" and strategy.last_error is None
        assert len(server.requests) == 3
        messages = [r.getMessage() for r in caplog.records]
        assert any("timeout" in m for m in messages) and any("http_500" in m for m in messages)
        assert not any(KEY in m for m in messages)
    finally:
        await strategy.aclose()


async def test_min_interval_is_respected_on_the_context_clock(
    server: ChatServer, market: MarketState
) -> None:
    clock = ManualClock(NOW)
    strategy = strategy_for(server, min_interval=60)
    try:
        for step in range(20):  # 57 s of 3-second ticks: one request
            strategy.evaluate(context(market, now=clock.now()))
            if step == 0:
                await answered(strategy, 1)
            assert not strategy.status()["pending"]
            clock.advance(3)
        assert len(server.requests) == 1
        clock.set(NOW.replace(second=59))
        strategy.evaluate(context(market, now=clock.now()))
        assert not strategy.status()["pending"] and len(server.requests) == 1
        clock.set(NOW.replace(minute=1))  # 60 s after the first request
        strategy.evaluate(context(market, now=clock.now()))
        await eventually(lambda: len(server.requests) == 2)
        await answered(strategy, 2)
    finally:
        await strategy.aclose()


async def test_no_requests_outside_continuous_trading(
    server: ChatServer, market: MarketState
) -> None:
    strategy = strategy_for(server)
    try:
        strategy.evaluate(context(market, now=NOW.replace(hour=12)))  # lunch break
        strategy.evaluate(context(market, now=NOW.replace(hour=20)))  # evening
        assert strategy.status()["running"] is False and not strategy.status()["pending"]
        assert strategy.stats.requests == 0
    finally:
        await strategy.aclose()


async def test_json_schema_refused_falls_back_to_json_object(
    server: ChatServer, market: MarketState
) -> None:
    server.script.extend([REFUSE_SCHEMA, answer(decision()), answer()])
    clock = ManualClock(NOW)
    strategy = strategy_for(server, min_interval=5)
    try:
        strategy.evaluate(context(market, now=clock.now()))
        await answered(strategy, 1)
        refused, retried = server.requests
        assert refused["body"]["response_format"]["type"] == "json_schema"
        assert retried["body"]["response_format"] == {"type": "json_object"}
        system = retried["body"]["messages"][0]["content"]
        assert json.dumps(ANSWER_SCHEMA, ensure_ascii=False) in system  # the schema, in the prompt
        assert retried["body"]["messages"][1] == refused["body"]["messages"][1]
        clock.advance(5)
        (signal,) = strategy.evaluate(context(market, now=clock.now()))
        assert signal.code == "sz000001" and strategy.status()["format"] == "json_object"
        await answered(strategy, 2)
        assert server.requests[2]["body"]["response_format"] == {"type": "json_object"}
        assert not strategy.stats.failures
    finally:
        await strategy.aclose()


async def test_json_object_mode_and_no_key_for_a_local_model(
    server: ChatServer, market: MarketState
) -> None:
    strategy = create("llm", {"endpoint": "local", "response_format": "json_object"})
    assert isinstance(strategy, LlmStrategy)
    local = {**server.endpoint("qwen2.5:7b", key_env=None), "base_url": server.base_url + "/"}
    strategy.use_endpoints({"local": LlmEndpoint.model_validate(local)})
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        (sent,) = server.requests
        assert "authorization" not in sent["headers"]
        assert sent["body"]["response_format"] == {"type": "json_object"}
        assert sent["body"]["model"] == "qwen2.5:7b"  # the endpoint's first model
    finally:
        await strategy.aclose()


class ReadsRecorded(Mapping[str, str]):
    """The environment, noting every variable read through it."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment, self.read = environment, list[str]()

    def __getitem__(self, name: str) -> str:
        self.read.append(name)
        return self.environment[name]

    def __iter__(self) -> Iterator[str]:
        self.read.append("*")
        return iter(self.environment)

    def __len__(self) -> int:
        return len(self.environment)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> ReadsRecorded:
    """What the strategy reads from the environment (the key variables only)."""
    recorded = ReadsRecorded(os.environ)
    monkeypatch.setattr(llm_module, "environ", recorded)
    return recorded


async def test_the_key_comes_from_the_endpoints_variable_and_no_other(
    server: ChatServer, market: MarketState, reads: ReadsRecorded
) -> None:
    strategy = strategy_for(server)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
        assert set(reads.read) == {KEY_ENV}
    finally:
        await strategy.aclose()


async def test_without_its_key_in_the_environment_nothing_is_sent(
    server: ChatServer, market: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    strategy = strategy_for(server)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        assert not server.requests and strategy.stats.failures == {"no_key": 1}
        assert strategy.last_error is not None and "test.api_key_env" in strategy.last_error
    finally:
        await strategy.aclose()


async def test_the_client_refuses_a_url_outside_the_allowlist(
    server: ChatServer, attacker: ChatServer, market: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defense in depth: were the URL ever built wrong, the HTTP client still refuses it."""
    strategy = strategy_for(server)
    elsewhere = LlmEndpoint.model_validate(attacker.endpoint())
    monkeypatch.setattr(strategy, "target", lambda: ("test", elsewhere, "deepseek-chat"))
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        assert strategy.stats.failures == {"not_allowed": 1}
        assert not attacker.requests and not server.requests
    finally:
        await strategy.aclose()


async def test_a_redirect_is_not_followed(
    server: ChatServer, attacker: ChatServer, market: MarketState
) -> None:
    server.script.append(f"{REDIRECT}{attacker.base_url}/chat/completions")
    strategy = strategy_for(server)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        assert strategy.stats.failures == {"http_307": 1}
        assert len(server.requests) == 1 and not attacker.requests
    finally:
        await strategy.aclose()


async def test_aclose_cancels_a_request_in_flight_and_the_next_use_restarts(
    server: ChatServer, market: MarketState
) -> None:
    server.script.append(HANG)
    clock = ManualClock(NOW)
    strategy = strategy_for(server, min_interval=5)
    strategy.evaluate(context(market, now=clock.now()))
    await eventually(lambda: strategy.status()["in_flight"])
    await strategy.aclose()
    status = strategy.status()
    assert status["running"] is False and status["in_flight"] is False
    assert strategy.stats.failures == {}  # abandoned, not failed
    await strategy.aclose()  # idempotent
    clock.advance(5)
    server.release.set()
    strategy.evaluate(context(market, now=clock.now()))
    assert strategy.status()["running"]
    await answered(strategy, 1)
    await strategy.aclose()


async def test_an_idle_request_task_ends_and_the_next_request_restarts_it(
    server: ChatServer, market: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A strategy dropped without aclose (disabled for its account) leaves no task behind."""
    monkeypatch.setattr(llm_module, "IDLE_EXIT", 0.2)
    clock = ManualClock(NOW)
    strategy = strategy_for(server, min_interval=5)
    try:
        strategy.evaluate(context(market, now=clock.now()))
        await answered(strategy, 1)
        await eventually(lambda: not strategy.status()["running"])
        clock.advance(5)
        strategy.evaluate(context(market, now=clock.now()))
        assert strategy.status()["running"]
        await answered(strategy, 2)
        assert len(server.requests) == 2 and not strategy.stats.failures
    finally:
        await strategy.aclose()


# -- the whole cloud: the operator's allowlist against the API ---------------------------------

STRATEGIES = "/api/agent/strategies"
LLM = f"{STRATEGIES}/llm"
HOME = "/home/llm-sentinel-5b1e"  # what HOME holds during these tests: it must never leave
ACCOUNT_SETTINGS = "agent.strategies.paper-1"
ACCOUNT = {"account": "paper-1"}


def with_endpoints(**servers: ChatServer) -> dict[str, Any]:
    """The ``agent`` settings of a stack: the agent on, these servers allowlisted."""
    endpoints = {name: chat.endpoint() for name, chat in servers.items()}
    return {"enabled": True, "llm": {"endpoints": endpoints}}


def buy_a_quiet_mover(body: dict[str, Any]) -> str:
    """An answer buying one lot of the summary's quietest main-board mover."""
    movers = json.loads(body["messages"][1]["content"])["movers"]
    rows = [dict(zip(movers["fields"], row, strict=True)) for row in movers["rows"]]
    rows = [r for r in rows if r["change_pct"] is not None and r["code"][:5] != "sh688"]
    quiet = min(rows, key=lambda row: abs(row["change_pct"]))
    return answer(decision(code=quiet["code"], reason="测试买入"))


async def shown(client: Any) -> str:
    """Everything a viewer sees of the agent."""
    strategies = await client.get(STRATEGIES, params=ACCOUNT)
    texts = [strategies.text, (await client.get("/api/agent/status")).text]
    return "\n".join(texts)


async def test_issue_12_the_api_cannot_point_it_elsewhere_or_read_the_environment(
    tmp_path: Path,
    server: ChatServer,
    attacker: ChatServer,
    reads: ReadsRecorded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack (base_url anywhere, api_key_env HOME) is a 422 naming the params and
    nothing reaches its URL; the allowlisted endpoint, chosen by name, works end to end."""
    monkeypatch.setenv("HOME", HOME)
    server.script.append(buy_a_quiet_mover)
    async with (
        running_stack(tmp_path, agent=with_endpoints(deepseek=server)) as stack,
        stack.client() as client,
    ):
        attack = {"base_url": attacker.base_url, "model": "deepseek-chat", "api_key_env": "HOME"}
        refused = await client.put(LLM, params=ACCOUNT, json={"enabled": True, "params": attack})
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == "invalid_params"
        assert sorted(e["loc"] for e in detail["errors"]) == [["api_key_env"], ["base_url"]]
        assert "base_url" in detail["message"] and "配置文件" in detail["message"]
        assert "api_key_env" in detail["message_en"] and "config file" in detail["message_en"]
        for params, loc in [
            ({"base_url": attacker.base_url}, "base_url"),
            ({"api_key_env": "HOME"}, "api_key_env"),
            ({"api_key": "sk-attacker"}, "api_key"),
            ({"endpoint": "deepseek", "model": "gpt-4o"}, "model"),
            ({"endpoint": "attacker"}, "endpoint"),
        ]:
            refused = await client.put(
                LLM, params=ACCOUNT, json={"enabled": True, "params": params}
            )
            assert refused.status_code == 422, refused.text
            assert [e["loc"] for e in refused.json()["detail"]["errors"]] == [[loc]]
        assert "choose one of: deepseek" in refused.json()["detail"]["message_en"]
        items = {
            item["name"]: item for item in (await client.get(STRATEGIES, params=ACCOUNT)).json()
        }
        assert not items["llm"]["enabled"]  # a refused change changes nothing

        chosen = await client.put(
            LLM, params=ACCOUNT, json={"enabled": True, "params": {"endpoint": "deepseek"}}
        )
        assert chosen.status_code == 200, chosen.text
        item = chosen.json()
        assert item["params"]["endpoint"] == "deepseek"
        assert item["param_schema"]["properties"]["endpoint"]["enum"] == ["deepseek"]
        await eventually(lambda: server.requests, timeout=20)
        assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"

        async def llm_decisions() -> list[dict[str, Any]]:
            response = await client.get("/api/decisions", params={"strategy": "llm"})
            return list(response.json())

        (stored, *_) = await eventually(llm_decisions, timeout=20)
        assert stored["reason"].startswith("大模型 deepseek-chat 建议买入：测试买入")
        text = await shown(client)
        assert '"endpoint":"deepseek"' in text
        for secret in (KEY, KEY_ENV, HOME, server.base_url, attacker.base_url):
            assert secret not in text, secret
    assert not attacker.requests
    assert HOME not in json.dumps(server.requests, ensure_ascii=False)
    assert set(reads.read) == {KEY_ENV}  # HOME, or any other variable, never read


async def test_params_an_older_version_stored_are_ignored_on_load(
    tmp_path: Path,
    server: ChatServer,
    attacker: ChatServer,
    reads: ReadsRecorded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A setting saved before the allowlist (the attack, already stored) starts nothing
    and breaks nothing: the operator-only params are dropped, the rest is kept."""
    monkeypatch.setenv("HOME", HOME)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    old = {"base_url": attacker.base_url, "model": "deepseek-chat", "api_key_env": "HOME",
           "api_key": "sk-stored-long-ago", "min_interval": 30}  # fmt: skip
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as session:
            llm = {"enabled": True, "paused": False, "params": old}
            await SettingRepo(session).set(ACCOUNT_SETTINGS, {"strategies": {"llm": llm}})
            await session.commit()
    finally:
        await db.dispose()
    async with (
        running_stack(tmp_path, db_url=url, agent=with_endpoints(deepseek=server)) as stack,
        stack.client() as client,
    ):

        async def some_rounds_ran() -> bool:
            return bool((await client.get("/api/agent/status")).json()["rounds"] >= 3)

        await eventually(some_rounds_ran, timeout=20)
        items = {
            item["name"]: item for item in (await client.get(STRATEGIES, params=ACCOUNT)).json()
        }
        item = items["llm"]
        assert item["enabled"] and item["status"]["enabled"] is False
        assert "no endpoint chosen" in item["status"]["not_configured"]
        assert item["params"]["min_interval"] == 30 and item["params"]["model"] == "deepseek-chat"
        assert not {"base_url", "api_key", "api_key_env"} & set(item["params"])
        text = await shown(client)
        for secret in ("sk-stored-long-ago", HOME, attacker.base_url):
            assert secret not in text, secret

        # what was stored blocks no later change; choosing the endpoint starts it
        changed = await client.put(LLM, params=ACCOUNT, json={"params": {"min_interval": 20}})
        assert changed.status_code == 200, changed.text
        chosen = await client.put(LLM, params=ACCOUNT, json={"params": {"endpoint": "deepseek"}})
        assert chosen.status_code == 200, chosen.text
        await eventually(lambda: server.requests, timeout=20)
        async with stack.cloud.db.session() as session:
            kept = await SettingRepo(session).get(ACCOUNT_SETTINGS)
        assert kept is not None
        params = {"model": "deepseek-chat", "min_interval": 20, "endpoint": "deepseek"}
        assert kept["strategies"]["llm"]["params"] == params
    assert not attacker.requests
    assert set(reads.read) == {KEY_ENV}
