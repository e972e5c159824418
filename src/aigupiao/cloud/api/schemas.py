"""Request and response bodies of the HTTP API (seed-compatible field names)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aigupiao.domain.orders import MarketKind
from aigupiao.protocol.bounds import Identifier, Price, Quantity, SecurityCode

DataType = Literal["positions", "trades", "orders", "all"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Routing(_Body):
    node_id: Identifier | None = Field(None, description="send to this node")
    account: Identifier | None = Field(None, description="send to the node of this account")


_MARKET_KIND_HELP = (
    "market orders only (price null): best5_ioc (default), best5_to_limit, counterparty_best, "
    "own_best; SZSE also ioc and fok"
)


class TradeCreate(Routing):
    """The seed's execute-trade body."""

    action: Literal["buy", "sell"]
    stock_code: SecurityCode = Field(examples=["600519"])
    quantity: Quantity = Field(examples=[100])
    price: Price | None = Field(None, description="null = market order", examples=[None])
    agent_id: Identifier | None = None
    client_order_id: Identifier | None = Field(
        None, description="idempotency key: a retry never trades twice"
    )
    market_kind: MarketKind | None = Field(None, description=_MARKET_KIND_HELP)


class AgentTradeCreate(Routing):
    stock_code: SecurityCode
    quantity: Quantity
    price: Price | None = None
    agent_id: Identifier | None = None
    client_order_id: Identifier | None = None
    market_kind: MarketKind | None = Field(None, description=_MARKET_KIND_HELP)


class ExportCreate(Routing):
    data_type: DataType = "all"


class CommandPublic(BaseModel):
    success: bool
    command_id: str
    status: str
    node_id: str
    result: dict[str, object] | None
    status_url: str
