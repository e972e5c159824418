"""Cloud <-> local wire messages, protocol version 1 (see ARCHITECTURE.md).

JSON text frames; every message has ``type`` and ``v: 1``. Decimal fields
travel as strings so no price ever passes through a float.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from aigupiao.domain.orders import MarketKind

from .bounds import Identifier, Price, Quantity, Seq, SeqOrZero, Text
from .payloads import (
    AccountPayload,
    BrokerId,
    Code,
    EmptyResult,
    OrderPayload,
    Result,
    TradePayload,
)
from .payloads import (
    ExportKind as ExportKind,
)

VERSION = 1
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: far above any real message; larger frames close the socket

Capability = Literal["buy", "sell", "cancel", "export", "status"]
ResponseStatus = Literal["done", "rejected", "failed", "expired", "unknown"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1


class Register(_Message):
    type: Literal["register"] = "register"
    node_id: Identifier
    account: Identifier
    broker: Identifier
    capabilities: list[Capability] = Field(max_length=8)
    last_seq: SeqOrZero = Field(description="highest seq the cloud confirmed as received")


class RegisterAck(_Message):
    type: Literal["register_ack"] = "register_ack"
    connection_id: str
    server_time: AwareDatetime
    heartbeat_s: float
    last_received_seq: int = 0


class TradeData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["buy", "sell"]
    stock_code: str = Field(min_length=1, max_length=16)
    quantity: Quantity
    price: Price | None = None  # None = market order
    agent_id: Identifier | None = None
    decision_id: Identifier | None = None
    client_order_id: BrokerId | None = None
    market_kind: MarketKind | None = None  # market orders only; default best5_ioc

    @field_validator("price")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("price must be positive or null (market order)")
        return value

    @model_validator(mode="after")
    def _kind_only_for_market_orders(self) -> TradeData:
        if self.market_kind is not None and self.price is not None:
            raise ValueError("market_kind is for market orders (price null) only")
        return self


class _Command(_Message):
    id: BrokerId
    issued_at: AwareDatetime
    expires_at: AwareDatetime


class TradeCommand(_Command):
    type: Literal["trade"] = "trade"
    data: TradeData


class CancelData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order_id: BrokerId


class CancelCommand(_Command):
    type: Literal["cancel"] = "cancel"
    data: CancelData


class ExportData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    data_type: ExportKind = "all"


class ExportCommand(_Command):
    type: Literal["export"] = "export"
    data: ExportData


class StatusCommand(_Command):
    type: Literal["status"] = "status"
    data: dict[str, Any] = Field(default_factory=dict)


class Ack(_Message):
    type: Literal["ack"] = "ack"
    command_id: BrokerId


class Response(_Message):
    type: Literal["response"] = "response"
    command_id: BrokerId
    seq: Seq
    status: ResponseStatus
    result: Result = EmptyResult()


class Event(_Message):
    """A broker push; one of :class:`OrderEvent`, :class:`TradeEvent`, :class:`AccountEvent`."""

    type: Literal["event"] = "event"
    seq: Seq


class OrderEvent(Event):
    kind: Literal["order_update"] = "order_update"
    data: OrderPayload


class TradeEvent(Event):
    kind: Literal["trade"] = "trade"
    data: TradePayload


class AccountEvent(Event):
    kind: Literal["account"] = "account"
    data: AccountPayload


AnyEvent = Annotated[OrderEvent | TradeEvent | AccountEvent, Field(discriminator="kind")]


class Received(_Message):
    type: Literal["received"] = "received"
    seq: SeqOrZero


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    ts: AwareDatetime


class Error(_Message):
    type: Literal["error"] = "error"
    command_id: BrokerId | None = None
    code: Code
    message: Text


Command = TradeCommand | CancelCommand | ExportCommand | StatusCommand

NodeToCloud = Annotated[
    Register | Ack | Response | AnyEvent | Heartbeat | Error, Field(discriminator="type")
]
CloudToNode = Annotated[
    RegisterAck
    | TradeCommand
    | CancelCommand
    | ExportCommand
    | StatusCommand
    | Received
    | Heartbeat
    | Error,
    Field(discriminator="type"),
]

_node_to_cloud: TypeAdapter[NodeToCloud] = TypeAdapter(NodeToCloud)
_cloud_to_node: TypeAdapter[CloudToNode] = TypeAdapter(CloudToNode)


def parse_from_node(text: str | bytes) -> NodeToCloud:
    """Parse a frame sent by a node. Raises pydantic.ValidationError on a bad frame."""
    return _node_to_cloud.validate_json(text)


def parse_from_cloud(text: str | bytes) -> CloudToNode:
    """Parse a frame sent by the cloud. Raises pydantic.ValidationError on a bad frame."""
    return _cloud_to_node.validate_json(text)


def dump(message: BaseModel) -> str:
    return message.model_dump_json()


def explain(text: str | bytes, exc: ValidationError) -> tuple[str, str]:
    """Why a frame was refused, as ``(code, message)`` for an ``error`` reply.

    A frame that is not JSON, or nested deeper than the parser allows, is
    ``invalid_json``; it is never handed to :func:`json.loads`, whose recursion a deeply
    nested frame would exhaust.
    """
    errors = exc.errors(include_url=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return "invalid_json", "不是有效的 JSON，或嵌套过深 (not valid JSON, or nested too deeply)"
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return "invalid_json", "不是有效的 JSON (not valid JSON)"
    if not isinstance(raw, dict):
        return "invalid_message", "消息必须是 JSON 对象 (a message must be a JSON object)"
    if raw.get("v") != VERSION:
        return (
            "unsupported_version",
            f"不支持的协议版本 {raw.get('v')!r}，只支持 v=1 (protocol version not supported)",
        )
    if raw.get("type") not in _KNOWN_TYPES:
        return "unknown_type", f"未知的消息类型 {raw.get('type')!r} (unknown message type)"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "message"
    return "invalid_message", f"{raw['type']}: {where}: {first['msg']}"[:MAX_REASON]


MAX_REASON = 480  # an error's message is Text (500 characters at most)


def command_id_of(text: str | bytes) -> str | None:
    """The command id of a refused frame, when one can be read, so the error names it."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return None
    value = (raw.get("command_id") or raw.get("id")) if isinstance(raw, dict) else None
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isprintable():
        return value if " " not in value else None
    return None


_KNOWN_TYPES = frozenset(
    {"register", "register_ack", "trade", "cancel", "export", "status", "ack", "response",
     "event", "received", "heartbeat", "error"}
)  # fmt: skip
