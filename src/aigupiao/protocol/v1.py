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

VERSION = 1
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: far above any real message; larger frames close the socket

Capability = Literal["buy", "sell", "cancel", "export", "status"]
ResponseStatus = Literal["done", "rejected", "failed", "expired", "unknown"]
ExportKind = Literal["positions", "trades", "orders", "all"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1


class Register(_Message):
    type: Literal["register"] = "register"
    node_id: str = Field(min_length=1, max_length=64)
    account: str = Field(min_length=1, max_length=64)
    broker: str
    capabilities: list[Capability]
    last_seq: int = Field(ge=0, description="highest seq the cloud confirmed as received")


class RegisterAck(_Message):
    type: Literal["register_ack"] = "register_ack"
    connection_id: str
    server_time: AwareDatetime
    heartbeat_s: float
    last_received_seq: int = 0


class TradeData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["buy", "sell"]
    stock_code: str
    quantity: int = Field(gt=0)
    price: Decimal | None = None  # None = market order
    agent_id: str | None = None
    decision_id: str | None = None
    client_order_id: str | None = None
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
    id: str = Field(min_length=1, max_length=64)
    issued_at: AwareDatetime
    expires_at: AwareDatetime


class TradeCommand(_Command):
    type: Literal["trade"] = "trade"
    data: TradeData


class CancelData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order_id: str


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
    command_id: str


class Response(_Message):
    type: Literal["response"] = "response"
    command_id: str
    seq: int = Field(gt=0)
    status: ResponseStatus
    result: dict[str, Any] = Field(default_factory=dict)


class Event(_Message):
    type: Literal["event"] = "event"
    seq: int = Field(gt=0)
    kind: Literal["order_update", "trade", "account"]
    data: dict[str, Any]


class Received(_Message):
    type: Literal["received"] = "received"
    seq: int = Field(ge=0)


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    ts: AwareDatetime


class Error(_Message):
    type: Literal["error"] = "error"
    command_id: str | None = None
    code: str
    message: str


Command = TradeCommand | CancelCommand | ExportCommand | StatusCommand

NodeToCloud = Annotated[
    Register | Ack | Response | Event | Heartbeat | Error, Field(discriminator="type")
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
    """Why a frame was refused, as ``(code, message)`` for an ``error`` reply."""
    try:
        raw = json.loads(text)
    except ValueError:
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
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "message"
    return "invalid_message", f"{raw['type']}: {where}: {first['msg']}"


_KNOWN_TYPES = frozenset(
    {"register", "register_ack", "trade", "cancel", "export", "status", "ack", "response",
     "event", "received", "heartbeat", "error"}
)  # fmt: skip
