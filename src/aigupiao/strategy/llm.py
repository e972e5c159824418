"""An optional strategy that asks a large language model (LLM) what to trade.

It speaks the OpenAI chat-completions protocol (``POST {base_url}/chat/completions``), so
DeepSeek, Qwen (DashScope compatible mode), OpenAI and local servers (Ollama, vLLM) all
work. Nothing touches the network at import or construction.

**Where it may send, and which key** (the trust boundary). The operator lists the
endpoints in the config file (``agent.llm.endpoints``: :class:`~.llm_endpoint.LlmEndpoint`,
a base URL, the models allowed there and the name of the environment variable holding
its key) and hands them to the strategy (:meth:`LlmStrategy.use_endpoints`). Its params,
which the API sets, only *name* an endpoint (``endpoint``) and pick one of its models
(``model``); ``base_url``, ``api_key`` and ``api_key_env`` are refused there
(:attr:`LlmConfig.operator_only`). The request task's HTTP client refuses any URL that is
not an allowlisted endpoint's, follows no redirects, and the only environment variable
read is the chosen endpoint's. Until an allowlisted endpoint is chosen the strategy is
off: ``evaluate`` returns nothing, no request is made, and :meth:`LlmStrategy.status`
says why (``not_configured``).

**Why a background task.** ``evaluate`` is synchronous and runs on the agent's event loop
(see :mod:`.base`); a chat completion takes seconds. So the request never runs inside
``evaluate``: when a request is due, ``evaluate`` builds the summary (cheap, from the
context) and hands it to one long-lived worker task (named ``strategy:llm:requests``,
started on first use on the running loop, owned by the strategy and stopped by
:meth:`LlmStrategy.aclose`; idle for ``IDLE_EXIT`` seconds it ends by itself and the next
request starts it again). The worker sends it and keeps the parsed answer. The next
``evaluate`` after the answer arrives turns its decisions into signals, against the
market of that moment, and returns them once. So an answer acts one ``evaluate`` after it
arrives (one ``decision_interval``, 3 s by default), on a summary ``timeout`` seconds old
at most. A request is due when none is in flight or waiting, ``min_interval`` seconds (on
the context's clock, ``context.now``) have passed since the last one started, and, with
``trading_hours_only``, in continuous trading.

**Answers.** The model must answer ``{"decisions": [...]}`` (:data:`ANSWER_SCHEMA`).
``response_format`` ``json_schema`` sends the schema as a structured-output constraint
(OpenAI, vLLM, Ollama >= 0.5); ``json_object`` asks for any JSON object and puts the
schema in the system prompt (DeepSeek, DashScope); ``auto`` tries ``json_schema`` and,
when the endpoint answers 400 or 422 to it, switches to ``json_object`` for good (the
same request is retried at once). Parsing is strict (pydantic, unknown keys rejected):
an answer that is not a JSON object with a ``decisions`` list is a failure; a decision
that breaks the schema is dropped on its own. A decision becomes a :class:`~.base.Signal`
only if its code is in the market, it was not proposed today, a buy passes the stock
filter, a sell is of a held position, its quantity is a valid lot and its price is on
the tick; the risk gate checks the rest, as for every strategy.

**Failures** (timeouts, HTTP errors, non-JSON or schema-invalid answers) never raise out
of ``evaluate``: they are logged once per kind (:class:`~aigupiao.core.logging.QuietLog`),
give no signals, and show in :attr:`LlmStrategy.last_error` and :meth:`LlmStrategy.status`.
The API key is read from the environment when a request is sent, never kept, logged,
stored or shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from os import environ
from typing import Any, ClassVar, Literal, Self

import httpx
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from aigupiao.core.logging import QuietLog
from aigupiao.domain.errors import DomainError
from aigupiao.domain.orders import Side, check_quantity
from aigupiao.domain.sessions import is_continuous
from aigupiao.domain.symbols import parse_symbol

from .base import BuiltinStrategy, OncePerDay, Signal, StrategyConfig, StrategyContext
from .filters import StockFilterConfig, buy_mask, filter_series
from .llm_endpoint import ENDPOINT_NAME, LlmEndpoint
from .series import SeriesKey
from .state import MarketState

log = logging.getLogger(__name__)
IDLE_EXIT = 600.0  # seconds the request task waits for work before it ends
# The validation context key under which the allowlist reaches LlmConfig (see its docstring).
ENDPOINTS_CONTEXT = "llm_endpoints"
INDICATORS = ("change_pct", "volume_ratio", "rsi14", "ma5", "ma20", "amount_wan")
MOVER_FIELDS = ("code", "name", "last", *INDICATORS)
POSITION_FIELDS = ("code", "name", "total", "available", "cost", "last", "pnl", "pnl_pct",
                   *INDICATORS)  # fmt: skip


class LlmConfig(StrategyConfig):
    """大模型策略 (LLM strategy) settings; off until ``endpoint`` names an allowlisted one.

    Validated with the allowlist as context (``context={ENDPOINTS_CONTEXT: endpoints}``,
    as the API does), ``endpoint`` must be one of its names and ``model`` one of that
    endpoint's models; without a context (a stored setting loaded after the operator
    changed the list) they are accepted and the strategy reports them as not configured.
    """

    # a validation error must not echo the input
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    operator_only: ClassVar[tuple[str, ...]] = ("base_url", "api_key", "api_key_env")

    endpoint: str | None = Field(
        default=None,
        pattern=ENDPOINT_NAME,
        description="接口名：运营者在配置文件 agent.llm.endpoints 中列出的名字之一 "
        "(endpoint: a name from the operator's agent.llm.endpoints)",
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="模型名，须是该接口允许的模型之一；不填用第一个 "
        "(model: one the endpoint allows; default its first)",
    )
    timeout: float = Field(default=30.0, gt=0, le=300, description="请求超时秒数 (timeout, s)")
    min_interval: float = Field(
        default=60.0, ge=1, le=86_400, description="两次请求的最小间隔秒数 (seconds between calls)"
    )
    max_symbols: int = Field(
        default=30, ge=1, le=200, description="摘要中的涨跌幅榜股票数 (movers in the summary)"
    )
    max_decisions: int = Field(
        default=5, ge=1, le=20, description="每次回答最多采纳几条决策 (decisions per answer)"
    )
    temperature: float = Field(default=0.2, ge=0, le=2, description="采样温度 (temperature)")
    max_tokens: int = Field(
        default=2000, ge=100, le=32_000, description="回答长度上限 (max answer tokens)"
    )
    response_format: Literal["auto", "json_schema", "json_object"] = Field(
        default="auto", description="结构化输出方式 (structured output mode)"
    )
    trading_hours_only: bool = Field(
        default=True, description="只在连续竞价时段请求 (ask only in continuous trading)"
    )
    filter: StockFilterConfig = StockFilterConfig()

    # Refused whatever their value (an older version took them): where requests go and
    # which environment variable is read are the operator's, in the config file. Declared
    # so the error names the param; never in the schema, a dump or the repr.
    base_url: SkipJsonSchema[None] = Field(default=None, exclude=True, repr=False)
    api_key: SkipJsonSchema[None] = Field(default=None, exclude=True, repr=False)
    api_key_env: SkipJsonSchema[None] = Field(default=None, exclude=True, repr=False)

    @field_validator(*operator_only, mode="before")
    @classmethod
    def _operator_only(cls, value: object, info: ValidationInfo) -> object:
        raise PydanticCustomError(
            "operator_only",
            "{name} 只能由运营者在配置文件的 agent.llm.endpoints 中设置，不能通过参数给出；"
            "请用 endpoint 选择已配置的接口 ({name} is set by the operator in the config file "
            "(agent.llm.endpoints), never through the params; choose a configured endpoint "
            "by name with endpoint)",
            {"name": info.field_name},
        )

    @field_validator("endpoint")
    @classmethod
    def _allowlisted(cls, value: str | None, info: ValidationInfo) -> str | None:
        endpoints = _allowlist(info)
        if value is not None and endpoints is not None and value not in endpoints:
            raise PydanticCustomError(
                "endpoint_not_allowed",
                "接口 {endpoint} 不在运营者的允许列表（配置文件 agent.llm.endpoints）中，"
                "可选：{choices} (endpoint {endpoint} is not in the operator's allowlist, "
                "agent.llm.endpoints in the config file; choose one of: {choices})",
                {"endpoint": value, "choices": _names(endpoints)},
            )
        return value

    @field_validator("model")
    @classmethod
    def _model_allowed(cls, value: str | None, info: ValidationInfo) -> str | None:
        endpoints = _allowlist(info)
        name = info.data.get("endpoint")
        if value is None or endpoints is None or not isinstance(name, str) or name not in endpoints:
            return value
        models = endpoints[name].models
        if value not in models:
            raise PydanticCustomError(
                "model_not_allowed",
                "模型 {model} 不是接口 {endpoint} 允许的模型，可选：{choices} (model {model} "
                "is not allowed for endpoint {endpoint}; choose one of: {choices})",
                {"model": value, "endpoint": name, "choices": ", ".join(models)},
            )
        return value


def _allowlist(info: ValidationInfo) -> Mapping[str, LlmEndpoint] | None:
    context = info.context
    if not isinstance(context, Mapping):
        return None
    endpoints = context.get(ENDPOINTS_CONTEXT)
    return endpoints if isinstance(endpoints, Mapping) else None


def _names(endpoints: Mapping[str, LlmEndpoint]) -> str:
    return ", ".join(sorted(endpoints)) or "无 none"


def param_schema(endpoints: Mapping[str, LlmEndpoint]) -> dict[str, Any]:
    """The params' JSON schema with the allowlisted endpoint names as ``endpoint``'s
    choices (names and models only: no URL, no variable)."""
    schema = LlmConfig.model_json_schema()
    if endpoints:
        properties = schema["properties"]
        properties["endpoint"]["enum"] = sorted(endpoints)
        properties["model"]["examples"] = sorted({m for e in endpoints.values() for m in e.models})
    return schema


class LlmDecision(BaseModel):
    """One decision of an answer, as the model must write it. Fed from ``json.loads`` with
    ``parse_float=Decimal``, so numbers arrive as ``int`` or exact ``Decimal``; numbers
    written as strings, and booleans, are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["buy", "sell"]
    code: StrictStr = Field(min_length=6, max_length=12)
    quantity: StrictInt | None = Field(gt=0)
    target_weight: Decimal | None = Field(ge=0, le=1)
    price: Decimal | None = Field(gt=0)
    confidence: float = Field(ge=0, le=1)
    reason: StrictStr = Field(min_length=1, max_length=1000)

    @field_validator("target_weight", "price", "confidence", mode="before")
    @classmethod
    def _json_number(cls, value: object) -> object:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | Decimal)):
            raise ValueError("must be a JSON number")
        return value

    @model_validator(mode="after")
    def _one_size(self) -> Self:
        if (self.quantity is None) == (self.target_weight is None):
            raise ValueError("give quantity or target_weight (the other null)")
        return self


class LlmAnswer(BaseModel):
    """The whole answer; its decisions are validated one by one (:class:`LlmDecision`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    decisions: list[dict[str, Any]] = Field(max_length=100)


_DECISION_FIELDS: dict[str, Any] = {
    "action": {"type": "string", "enum": ["buy", "sell"]},
    "code": {"type": "string", "description": "如 sh600519"},
    "quantity": {"type": ["integer", "null"], "description": "股数"},
    "target_weight": {"type": ["number", "null"], "description": "目标仓位 0~1"},
    "price": {"type": ["number", "null"], "description": "限价；null 为市价"},
    "confidence": {"type": "number", "description": "置信度 0~1"},
    "reason": {"type": "string", "description": "中文理由"},
}
# Bounds are checked by LlmDecision, not sent: strict structured output on some endpoints
# refuses minimum/maximum. Every field is required (nullable instead), as strict mode wants.
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decisions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": _DECISION_FIELDS,
                "required": list(_DECISION_FIELDS),
                "additionalProperties": False,
            },
        }
    },
    "required": ["decisions"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = "\n".join(
    (
        "你是 A 股交易决策助手。用户消息是一份 JSON 格式的行情与账户摘要：",
        "account：现金 cash、总资产 equity、持仓 positions（表格：fields 为列名，rows 为各行；",
        "  total 股数，available 可卖股数（T+1），cost 成本价，pnl 浮动盈亏，pnl_pct 盈亏 %）；",
        "movers：经过股票过滤的今日涨跌幅榜（change_pct 涨跌幅 %，volume_ratio 量比，",
        "  rsi14、ma5、ma20 为日线指标，amount_wan 成交额（万元），null 表示没有数据）；",
        "proposed_today：今天已提出过的代码，不要重复。",
        '只根据摘要决定本次交易，回答一个 JSON 对象 {{"decisions": [...]}}，',
        "无事可做时 decisions 为空列表。",
        '每条决策：action 为 "buy" 或 "sell"；code 为摘要中的代码；',
        "quantity（股数）与 target_weight（目标仓位占总资产比例 0~1）二选一，另一个为 null；",
        "price 为限价（股票为 0.01 元的整数倍，基金 0.001）或 null（市价）；",
        "confidence 为 0~1 的置信度；reason 用中文简述理由。",
        "买入须为整手：沪深主板和创业板 100 股的整数倍，科创板至少 200 股，北交所至少 100 股。",
        "卖出不超过可卖股数。最多 {max_decisions} 条，重要的在前。所有决策还要经过风控检查。",
    )
)
SCHEMA_PROMPT = "\n回答必须符合这个 JSON Schema：{schema}"


@dataclass(frozen=True, slots=True)
class _Request:
    at: datetime  # context.now when it was made
    summary: dict[str, Any]
    rows: dict[str, dict[str, Any]]  # the summary's row per code, for the signals' inputs


@dataclass(frozen=True, slots=True)
class _Answer:
    request: _Request
    decisions: list[dict[str, Any]]
    model: str


class LlmFailure(Exception):
    """A request that gave no usable answer; ``kind`` is what is counted."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


@dataclass
class LlmStats:
    requests: int = 0
    answers: int = 0
    signals: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # by kind: timeout, http_500, ...
    dropped: Counter[str] = field(default_factory=Counter)  # decisions, by reason


class _Proposed(OncePerDay):
    def codes(self) -> list[str]:
        """Today's proposed codes (told to the model so it does not repeat them)."""
        return sorted(self._codes)


class LlmStrategy(BuiltinStrategy[LlmConfig]):
    """大模型：把精简的行情与账户摘要（涨跌幅榜、持仓成本与盈亏、现金、部分指标）发给
    OpenAI 兼容的对话接口（DeepSeek、通义千问、Ollama/vLLM 本地模型），要求按 JSON Schema
    回答买卖决策；代码不在行情中、不是整手、价格不在最小变动价位上、今天已提出过的决策被丢弃
    并计数。至多每 min_interval 秒（默认 60）请求一次，请求在后台进行，不阻塞智能体；超时和
    错误只记录，不产生信号。接口由运营者在配置文件 agent.llm.endpoints 中列出，参数 endpoint
    只能按名字选择其中之一；未选择时不启用。注意：持仓和现金会发送给该接口。

    LLM: a compact market and portfolio summary (top movers, positions with cost and P&L,
    cash, a few indicators) goes to an OpenAI-compatible chat endpoint, which must answer
    buy/sell decisions in a JSON schema; decisions with an unknown code, an invalid lot,
    an off-tick price or already proposed today are dropped and counted. At most one
    request per min_interval seconds (default 60), made in the background; failures give
    no signals. The operator lists the endpoints in the config file (agent.llm.endpoints);
    the param endpoint picks one by name, and until it does the strategy is off. Positions
    and cash leave the machine.
    """

    name = "llm"
    title = "大模型 (LLM, OpenAI-compatible)"
    config_type = LlmConfig

    def __init__(
        self, config: LlmConfig | None = None, *, endpoints: Mapping[str, LlmEndpoint] | None = None
    ) -> None:
        super().__init__(config)
        self._endpoints: dict[str, LlmEndpoint] = dict(endpoints or {})
        self.proposed: _Proposed = _Proposed()
        self.stats = LlmStats()
        self.last_error: str | None = None
        self._quiet = QuietLog(log)
        self._json_schema_refused = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._pending: _Request | None = None
        self._answer: _Answer | None = None
        self._in_flight = False
        self._last_request_at: datetime | None = None

    def use_endpoints(self, endpoints: Mapping[str, LlmEndpoint]) -> None:
        """The operator's allowlist (``agent.llm.endpoints``); none by default, so a
        strategy nobody gave one never sends anything."""
        self._endpoints = dict(endpoints)
        self._json_schema_refused = False

    def target(self) -> tuple[str, LlmEndpoint, str] | str:
        """The endpoint's name, the endpoint and the model to ask, or (a string) why
        there is none: the strategy is then off."""
        names = _names(self._endpoints)
        name = self.config.endpoint
        if not self._endpoints:
            return (
                "未配置大模型接口：请运营者在配置文件的 agent.llm.endpoints 中添加 "
                "(no LLM endpoint configured: the operator adds them under "
                "agent.llm.endpoints in the config file)"
            )
        if name is None:
            return (
                f"未选择接口：请把参数 endpoint 设为 {names} 之一 "
                f"(no endpoint chosen: set the param endpoint to one of {names})"
            )
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            return (
                f"接口 {name} 不在配置文件 agent.llm.endpoints 中，可选：{names} "
                f"(endpoint {name} is not in agent.llm.endpoints; choose one of: {names})"
            )
        model = self.config.model or endpoint.models[0]
        if model not in endpoint.models:
            models = ", ".join(endpoint.models)
            return (
                f"模型 {model} 不是接口 {name} 允许的模型，可选：{models} "
                f"(model {model} is not allowed for endpoint {name}; choose one of: {models})"
            )
        return name, endpoint, model

    @property
    def enabled(self) -> bool:
        return not isinstance(self.target(), str)

    def configure(self, **changes: Any) -> None:
        """As for every built-in (the operator-only params are refused)."""
        before = (self.config.endpoint, self.config.model, self.config.response_format)
        super().configure(**changes)
        if before != (self.config.endpoint, self.config.model, self.config.response_format):
            self._json_schema_refused = False  # a new endpoint may take json_schema

    def series_needed(self) -> list[SeriesKey]:
        if not self.enabled:
            return []
        daily = [SeriesKey("sma", 5, "volume"), SeriesKey("rsi", 14), SeriesKey("sma", 5),
                 SeriesKey("sma", 20)]  # fmt: skip
        return [*filter_series(self.config.filter), *daily]

    def status(self) -> dict[str, Any]:
        """Counters, the last error and, when off, why (for the API and ``/health``). The
        endpoints show by name with their models: never a URL, a variable or a key."""
        target = self.target()
        return {
            "enabled": not isinstance(target, str),
            "not_configured": target if isinstance(target, str) else None,
            "endpoint": None if isinstance(target, str) else target[0],
            "model": None if isinstance(target, str) else target[2],
            "endpoints": {name: list(e.models) for name, e in sorted(self._endpoints.items())},
            "running": self._worker is not None and not self._worker.done(),
            "pending": self._pending is not None,
            "in_flight": self._in_flight,
            "format": self._format(),
            "requests": self.stats.requests,
            "answers": self.stats.answers,
            "signals": self.stats.signals,
            "failures": dict(self.stats.failures),
            "dropped": dict(self.stats.dropped),
            "last_error": self.last_error,
        }

    # -- evaluate (on the loop, never waits) ----------------------------------------------

    def evaluate(self, context: StrategyContext) -> list[Signal]:
        self.proposed.start(context.now.date())
        if not self.enabled:
            return []
        answer, self._answer = self._answer, None
        signals = [] if answer is None else self._signals(answer, context)
        if self._due(context.now):
            self._ask(context)
        return signals

    def _due(self, now: datetime) -> bool:
        if self._worker_alive():
            if self._in_flight or self._pending is not None:
                return False
        elif self._pending is not None:
            return True  # handed to a task that has ended since: ask again now
        if self.config.trading_hours_only and not is_continuous(now):
            return False
        last = self._last_request_at
        return last is None or not 0 <= (now - last).total_seconds() < self.config.min_interval

    def _worker_alive(self) -> bool:
        loop = self._loop
        worker = self._worker
        return (
            worker is not None and not worker.done() and loop is not None and not loop.is_closed()
        )

    def _ask(self, context: StrategyContext) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._fail("no_loop", "evaluate was called without a running event loop")
            return
        if not self._worker_alive() or self._loop is not loop:
            # (re)start: first use, after aclose or an idle exit, or on a new loop (the
            # old one is closed, or its task is left to it)
            worker = self._worker
            if worker is not None and worker.done() and not worker.cancelled():
                error = worker.exception()
                if error is not None:
                    self._fail("worker", repr(error))
            self._loop, self._wake, self._in_flight = loop, asyncio.Event(), False
            self._worker = loop.create_task(self._run(), name=f"strategy:{self.name}:requests")
        market, codes = self.market(context), self.proposed.codes()
        summary, rows = summarize(context, market, self.config, codes)
        self._pending = _Request(context.now, summary, rows)
        self._last_request_at = context.now
        assert self._wake is not None
        self._wake.set()

    async def aclose(self) -> None:
        """Stop the request task (an answer in flight is abandoned); idempotent."""
        worker, self._worker = self._worker, None
        self._pending, self._in_flight = None, False
        if worker is None or worker.done():
            return
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker

    # -- the worker task --------------------------------------------------------------------

    async def _run(self) -> None:
        """Send each request handed over by ``evaluate``; end after ``IDLE_EXIT`` without one
        (``evaluate`` starts it again), so a strategy dropped without ``aclose`` (disabled
        for its account) does not keep a task and a connection pool for ever."""
        assert self._wake is not None
        wake = self._wake
        # Defense in depth: whatever builds the URL, nothing leaves for one not allowlisted.
        async with httpx.AsyncClient(
            follow_redirects=False, event_hooks={"request": [self._guard]}
        ) as client:
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), IDLE_EXIT)
                except TimeoutError:
                    return
                wake.clear()
                request, self._pending = self._pending, None
                if request is None:
                    continue
                self._in_flight = True
                try:
                    self._answer = await self._complete(client, request)
                finally:
                    self._in_flight = False

    async def _guard(self, request: httpx.Request) -> None:
        """The client's request hook: only an allowlisted endpoint's chat URL."""
        allowed = {httpx.URL(endpoint.chat_url) for endpoint in self._endpoints.values()}
        if request.url not in allowed:
            raise LlmFailure("not_allowed", "refused a request to a URL not in agent.llm.endpoints")

    async def _complete(self, client: httpx.AsyncClient, request: _Request) -> _Answer | None:
        config = self.config
        self.stats.requests += 1
        key: str | None = None
        try:
            target = self.target()  # the params may have changed since the request was made
            if isinstance(target, str):
                raise LlmFailure("not_configured", target)
            name, endpoint, model = target
            key = _key(name, endpoint)
            response = await self._post(client, request, self._format(), endpoint, model, key)
            refused = response.status_code in (400, 422) and self._format() == "json_schema"
            if refused and config.response_format == "auto":
                self._json_schema_refused = True
                self._quiet.warning("fallback", "llm endpoint refused json_schema (HTTP %s): "
                                    "json_object from now on", response.status_code)  # fmt: skip
                response = await self._post(client, request, "json_object", endpoint, model, key)
            decisions = parse_answer(response)
        except LlmFailure as failure:
            self._fail(failure.kind, _scrub(failure.detail, key))
            return None
        except Exception as error:  # a bug here must not kill the worker
            self._fail("error", _scrub(repr(error), key))
            return None
        self.stats.answers += 1
        self.last_error = None
        return _Answer(request, decisions, model)

    async def _post(
        self,
        client: httpx.AsyncClient,
        request: _Request,
        mode: str,
        endpoint: LlmEndpoint,
        model: str,
        key: str | None,
    ) -> httpx.Response:
        config = self.config
        system = SYSTEM_PROMPT.format(max_decisions=config.max_decisions)
        if mode == "json_schema":
            schema = {"name": "trading_decisions", "strict": True, "schema": ANSWER_SCHEMA}
            response_format: dict[str, Any] = {"type": "json_schema", "json_schema": schema}
        else:
            response_format = {"type": "json_object"}
            system += SCHEMA_PROMPT.format(schema=json.dumps(ANSWER_SCHEMA, ensure_ascii=False))
        summary = json.dumps(request.summary, ensure_ascii=False, separators=(",", ":"))
        body = {
            "model": model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": summary},
            ],
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            "response_format": response_format,
            "stream": False,
        }
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        try:
            # httpx's timeout bounds each read; asyncio's bounds the whole exchange
            async with asyncio.timeout(config.timeout):
                return await client.post(
                    endpoint.chat_url, json=body, headers=headers, timeout=config.timeout
                )
        except (httpx.TimeoutException, TimeoutError) as error:
            raise LlmFailure("timeout", f"no answer within {config.timeout}s") from error
        except httpx.HTTPError as error:
            raise LlmFailure("transport", f"{type(error).__name__}: {error}") from error

    def _format(self) -> str:
        mode = self.config.response_format
        if mode == "auto":
            return "json_object" if self._json_schema_refused else "json_schema"
        return mode

    # -- answers to signals -----------------------------------------------------------------

    def _signals(self, answer: _Answer, context: StrategyContext) -> list[Signal]:
        signals: list[Signal] = []
        for index, raw in enumerate(answer.decisions):
            if index >= self.config.max_decisions:
                self._drop("too_many", raw)
                continue
            try:
                decision = LlmDecision.model_validate(raw)
            except ValidationError as error:
                self._drop("schema", raw, error.errors(include_url=False)[0]["msg"])
                continue
            signal, reason = self._signal(decision, answer, context)
            if signal is None:
                self._drop(reason, raw)
                continue
            self.proposed.add(signal.code)
            signals.append(signal)
        self.stats.signals += len(signals)
        return signals

    def _signal(
        self, decision: LlmDecision, answer: _Answer, context: StrategyContext
    ) -> tuple[Signal | None, str]:
        try:
            symbol = parse_symbol(decision.code)
        except DomainError:
            return None, "unknown_code"
        code = symbol.full
        quote = context.quotes.get(code)
        if quote is None:
            return None, "unknown_code"
        if self.proposed.seen(code):
            return None, "already_proposed"
        side = Side(decision.action)
        position = context.position(code)
        if side is Side.SELL and (position is None or position.available <= 0):
            return None, "not_held"
        if side is Side.BUY:
            market = self.market(context)
            slot = market.slot(code)
            if slot is None or not buy_mask(market, self.config.filter, context.now)[slot]:
                return None, "filtered"
        if decision.quantity is not None:
            available = position.available if side is Side.SELL and position else None
            try:
                check_quantity(symbol, side, decision.quantity, available=available)
            except DomainError:
                return None, "invalid_lot"
        if decision.price is not None and decision.price % symbol.tick != 0:
            return None, "off_tick"
        inputs: dict[str, Any] = {
            "model": answer.model,
            "asked_at": answer.request.at.isoformat(),
            "summary": answer.request.rows.get(code, {}),
            "last": str(quote.last),
            "llm_reason": decision.reason,
        }
        action = "买入" if side is Side.BUY else "卖出"
        try:
            signal = Signal(
                symbol=symbol,
                side=side,
                quantity=decision.quantity or 0,
                price=decision.price,
                reason=f"大模型 {answer.model} 建议{action}：{decision.reason}"
                f" (LLM {answer.model}: {side.value} {code})",
                inputs=inputs,
                confidence=decision.confidence,
                target_weight=decision.target_weight,
            )
        except ValueError:
            return None, "invalid"
        return signal, ""

    # -- bookkeeping ---------------------------------------------------------------------------

    def _fail(self, kind: str, detail: str) -> None:
        self.stats.failures[kind] += 1
        self.last_error = f"{kind}: {detail}"
        self._quiet.warning(f"fail:{kind}", "llm strategy: %s (no signals)", self.last_error)

    def _drop(self, reason: str, raw: object, detail: str = "") -> None:
        self.stats.dropped[reason] += 1
        text = json.dumps(raw, ensure_ascii=False, default=str)[:200]
        why = f"{reason}: {detail}" if detail else reason
        self._quiet.warning(f"drop:{reason}", "llm decision dropped (%s): %s", why, text)


def _key(name: str, endpoint: LlmEndpoint) -> str | None:
    """The endpoint's API key from its environment variable (the only one ever read), or
    None for an endpoint without one; raises :class:`LlmFailure` when it is unset."""
    if endpoint.api_key_env is None:
        return None
    key = environ.get(endpoint.api_key_env, "").strip()
    if not key:
        raise LlmFailure(
            "no_key", f"endpoint {name}: its key variable (agent.llm.endpoints.{name}."
            "api_key_env) is not set in the server's environment"
        )  # fmt: skip
    return key


def _scrub(text: str, key: str | None) -> str:
    """``text`` without the key (an endpoint may quote it back in an error)."""
    return text.replace(key, "**********") if key else text


def parse_answer(response: httpx.Response) -> list[dict[str, Any]]:
    """The raw decisions of a chat-completions response; raises :class:`LlmFailure`."""
    if response.status_code != 200:
        raise LlmFailure(f"http_{response.status_code}", response.text[:200])
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError) as error:
        raise LlmFailure("bad_response", "not a chat completion") from error
    if not isinstance(content, str) or not content.strip():
        raise LlmFailure("empty", "the answer has no content")
    text = content.strip()
    if text.startswith("```"):  # a fenced block is the one wrapping tolerated
        text = text.removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        # Decimal keeps the prices exactly as written; NaN and Infinity are not JSON
        document = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as error:
        raise LlmFailure("bad_json", f"the answer is not JSON: {text[:80]!r}") from error
    try:
        return LlmAnswer.model_validate(document).decisions
    except ValidationError as error:
        raise LlmFailure("schema", str(error.errors(include_url=False)[0]["msg"])) from error


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# -- the summary -------------------------------------------------------------------------------


def summarize(
    context: StrategyContext, market: MarketState, config: LlmConfig, proposed: list[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The user message (a compact JSON-able dict: tables as field names plus rows) and
    each summarized code's row by name (kept as the inputs of its signals)."""
    columns = _indicators(context, market) if market.size else {}

    def indicators(code: str) -> list[float | None]:
        slot = market.slot(code)
        if slot is None or not columns:
            return [None] * len(INDICATORS)
        return [_num(columns[name][slot]) for name in INDICATORS]

    rows: dict[str, dict[str, Any]] = {}
    positions = []
    for position in context.positions:
        code, cost = position.symbol.full, position.cost_price
        quote = context.quotes.get(code)
        last = quote.last if quote is not None else position.last_price
        pnl = None if last is None else (last - cost) * position.total
        pnl_pct = None if last is None or not cost else (last / cost - 1) * 100
        name = quote.name if quote is not None else ""
        row = [code, name, position.total, position.available, _num(cost), _num(last),
               _num(pnl, 2), _num(pnl_pct, 2), *indicators(code)]  # fmt: skip
        positions.append(row)
        rows[code] = dict(zip(POSITION_FIELDS, row, strict=True))
    movers = []
    for slot in _movers(context, market, config):
        quote = market.quote_at(slot)
        if quote is not None:
            code = quote.symbol.full
            row = [code, quote.name, _num(quote.last), *indicators(code)]
            movers.append(row)
            rows[code] = {**rows.get(code, {}), **dict(zip(MOVER_FIELDS, row, strict=True))}
    account = context.account
    summary = {
        "now": context.now.isoformat(timespec="seconds"),
        "account": {
            "cash": None if account is None else _num(account.cash, 2),
            "equity": None if account is None else _num(account.equity, 2),
            "positions": {"fields": list(POSITION_FIELDS), "rows": positions},
        },
        "movers": {"fields": list(MOVER_FIELDS), "rows": movers},
        "proposed_today": proposed,
        "max_decisions": config.max_decisions,
    }
    return summary, rows


def _movers(context: StrategyContext, market: MarketState, config: LlmConfig) -> list[int]:
    """Slots of the day's strongest risers, then the strongest fallers, among the stocks
    the filter lets through: ``max_symbols`` in all."""
    if not market.size:
        return []
    change = market.change()
    allowed = buy_mask(market, config.filter, context.now) & ~np.isnan(change)
    slots = np.flatnonzero(allowed)
    ordered: list[int] = slots[np.argsort(-change[slots], kind="stable")].tolist()
    risers = ordered[: (config.max_symbols + 1) // 2]
    fallers = ordered[len(risers) :][::-1][: config.max_symbols - len(risers)]
    return risers + fallers


def _indicators(context: StrategyContext, market: MarketState) -> dict[str, Any]:
    last = market.last
    with np.errstate(invalid="ignore"):
        return {
            "change_pct": market.change() * 100,
            "volume_ratio": market.volume_ratio(context.now, 5),
            "rsi14": market.series("rsi", 14).live(last),
            "ma5": market.series("sma", 5).live(last),
            "ma20": market.series("sma", 20).live(last),
            "amount_wan": market.amount / 10_000,
        }


def _num(value: Decimal | float | None, places: int = 3) -> float | None:
    """A number for the prompt (None for missing or nan)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))
    number = float(value)
    return None if math.isnan(number) else round(number, places)
