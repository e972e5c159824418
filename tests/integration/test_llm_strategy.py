"""The LLM strategy against a real chat-completions server on 127.0.0.1.

:class:`ChatServer` is a Starlette app under uvicorn on a free port that speaks the
OpenAI chat-completions protocol (``POST /v1/chat/completions``). It records every request
(headers and JSON body) and answers from a script: a JSON content string, an HTTP status,
a hang (until released: a timeout), or a 400 to ``json_schema`` (an endpoint without
structured outputs, like DeepSeek). Time is a :class:`ManualClock`; waiting is
``eventually()``, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aigupiao.core.clock import ManualClock
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import parse_symbol
from aigupiao.strategy import llm as llm_module
from aigupiao.strategy.llm import ANSWER_SCHEMA, LlmStrategy
from aigupiao.strategy.registry import create
from aigupiao.strategy.state import MarketState

from ..conftest import eventually
from ..unit.strategy.build import MOUTAI, NOW, PINGAN, context, holding, quote
from .stack import Running, serve

STAR = parse_symbol("sh688981")
KEY = "sk-test-0123456789"
HANG = "hang"
REFUSE_SCHEMA = "refuse_schema"


@dataclass
class ChatServer:
    """A real chat-completions endpoint with a script of answers (see the module docstring)."""

    script: deque[str | int] = field(default_factory=deque)  # content, status, HANG, ...
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    running: Running | None = None

    @property
    def base_url(self) -> str:
        assert self.running is not None
        return f"http://127.0.0.1:{self.running.port}/v1"

    async def _complete(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        step: str | int = self.script.popleft() if self.script else '{"decisions": []}'
        if step == REFUSE_SCHEMA:
            if body["response_format"]["type"] == "json_schema":
                error = {"message": "This response_format type is unavailable now"}
                return JSONResponse({"error": error}, status_code=400)
            step = self.script.popleft() if self.script else '{"decisions": []}'
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
async def server() -> AsyncIterator[ChatServer]:
    chat = ChatServer()
    chat.running = await serve(chat.app())
    try:
        yield chat
    finally:
        chat.release.set()
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
    settings = {"base_url": server.base_url, "model": "deepseek-chat", "api_key": KEY, **config}
    strategy = create("llm", settings)
    assert isinstance(strategy, LlmStrategy)
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
    strategy = create("llm", {"base_url": server.base_url + "/", "model": "qwen2.5:7b",
                              "response_format": "json_object"})  # fmt: skip
    assert isinstance(strategy, LlmStrategy)
    try:
        strategy.evaluate(context(market))
        await answered(strategy, 1)
        (sent,) = server.requests
        assert "authorization" not in sent["headers"]
        assert sent["body"]["response_format"] == {"type": "json_object"}
        assert sent["body"]["model"] == "qwen2.5:7b"
    finally:
        await strategy.aclose()


async def test_the_key_can_come_from_the_environment(
    server: ChatServer, market: MarketState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUPIAO_TEST_LLM_KEY", "sk-from-env")
    strategy = create("llm", {"base_url": server.base_url, "model": "m",
                              "api_key_env": "AIGUPIAO_TEST_LLM_KEY"})  # fmt: skip
    assert isinstance(strategy, LlmStrategy)
    try:
        strategy.evaluate(context(market))
        await eventually(lambda: server.requests)
        assert server.requests[0]["headers"]["authorization"] == "Bearer sk-from-env"
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
