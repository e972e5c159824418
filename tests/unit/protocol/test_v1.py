"""Protocol v1: every message of the ARCHITECTURE.md link table, on the wire and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from aigupiao.core.clock import BEIJING
from aigupiao.protocol import v1
from aigupiao.protocol.payloads import TradeResult

ISSUED = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
EXPIRES = ISSUED + timedelta(seconds=10)


ORDER: dict[str, Any] = {
    "id": "o-1",
    "account": "paper-1",
    "symbol": "sh600519",
    "side": "buy",
    "type": "limit",
    "quantity": 100,
    "price": "1488.01",
    "status": "filled",
    "filled_quantity": 100,
    "filled_amount": "148801.00",
    "created_at": ISSUED.isoformat(),
}
FILL: dict[str, Any] = {
    "id": "t-1",
    "order_id": "o-1",
    "account": "paper-1",
    "symbol": "sh600519",
    "side": "buy",
    "quantity": 100,
    "price": "1488.01",
    "amount": "148801.00",
    "commission": "44.64",
    "stamp_duty": "0",
    "transfer_fee": "1.49",
    "ts": ISSUED.isoformat(),
}
ACCOUNT: dict[str, Any] = {"id": "paper-1", "cash": "100.00"}


def _trade(price: Decimal | None = Decimal("1488.01")) -> v1.TradeCommand:
    data = v1.TradeData(
        action="buy",
        stock_code="sh600519",
        quantity=100,
        price=price,
        agent_id="dip_buy",
        decision_id="d-1",
    )
    return v1.TradeCommand(id="c-1", issued_at=ISSUED, expires_at=EXPIRES, data=data)


NODE_TO_CLOUD: list[BaseModel] = [
    v1.Register(
        node_id="node-1",
        account="paper-1",
        broker="paper",
        capabilities=["buy", "sell", "cancel", "export", "status"],
        last_seq=7,
    ),
    v1.Ack(command_id="c-1"),
    v1.Response.model_validate(
        {
            "command_id": "c-1",
            "seq": 3,
            "status": "done",
            "result": {"kind": "trade", "order": ORDER, "trades": [FILL], "account": ACCOUNT},
        }
    ),
    v1.OrderEvent.model_validate({"seq": 4, "data": ORDER}),
    v1.TradeEvent.model_validate({"seq": 5, "data": FILL}),
    v1.AccountEvent.model_validate({"seq": 6, "data": ACCOUNT}),
    v1.Heartbeat(ts=ISSUED),
    v1.Error(command_id="c-1", code="bad_message", message="无法解析 (unreadable)"),
    v1.Error(command_id=None, code="bad_message", message="x"),
]

CLOUD_TO_NODE: list[BaseModel] = [
    v1.RegisterAck(connection_id="conn-1", server_time=ISSUED, heartbeat_s=5.0),
    _trade(),
    _trade(price=None),
    v1.CancelCommand(
        id="c-2", issued_at=ISSUED, expires_at=EXPIRES, data=v1.CancelData(order_id="o-1")
    ),
    v1.ExportCommand(
        id="c-3", issued_at=ISSUED, expires_at=EXPIRES, data=v1.ExportData(data_type="positions")
    ),
    v1.StatusCommand(id="c-4", issued_at=ISSUED, expires_at=EXPIRES),
    v1.Received(seq=9),
    v1.Heartbeat(ts=ISSUED),
    v1.Error(command_id=None, code="unauthorized", message="令牌无效 (bad token)"),
]


def _ids(messages: list[BaseModel]) -> list[str]:
    return [f"{i}-{m.type}" for i, m in enumerate(messages)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("message", NODE_TO_CLOUD, ids=_ids(NODE_TO_CLOUD))
def test_node_to_cloud_round_trip(message: BaseModel) -> None:
    text = v1.dump(message)
    wire = json.loads(text)
    assert wire["v"] == 1
    assert wire["type"] == message.type  # type: ignore[attr-defined]
    parsed = v1.parse_from_node(text)
    assert type(parsed) is type(message)
    assert parsed == message
    assert v1.dump(parsed) == text


@pytest.mark.parametrize("message", CLOUD_TO_NODE, ids=_ids(CLOUD_TO_NODE))
def test_cloud_to_node_round_trip(message: BaseModel) -> None:
    text = v1.dump(message)
    wire = json.loads(text)
    assert wire["v"] == 1
    assert wire["type"] == message.type  # type: ignore[attr-defined]
    parsed = v1.parse_from_cloud(text)
    assert type(parsed) is type(message)
    assert parsed == message
    assert v1.dump(parsed) == text


def test_every_type_of_the_link_table_is_covered() -> None:
    node = {m.type for m in NODE_TO_CLOUD}  # type: ignore[attr-defined]
    cloud = {m.type for m in CLOUD_TO_NODE}  # type: ignore[attr-defined]
    assert node == {"register", "ack", "response", "event", "heartbeat", "error"}
    assert cloud == {
        "register_ack",
        "trade",
        "cancel",
        "export",
        "status",
        "received",
        "heartbeat",
        "error",
    }


def test_register_fields_on_the_wire() -> None:
    wire = json.loads(v1.dump(NODE_TO_CLOUD[0]))
    assert wire == {
        "v": 1,
        "type": "register",
        "node_id": "node-1",
        "account": "paper-1",
        "broker": "paper",
        "capabilities": ["buy", "sell", "cancel", "export", "status"],
        "last_seq": 7,
    }


def test_trade_price_travels_as_a_string_never_a_float() -> None:
    text = v1.dump(_trade(Decimal("1488.01")))
    assert '"price":"1488.01"' in text
    wire = json.loads(text, parse_float=lambda s: pytest.fail(f"float {s} on the wire"))
    assert wire["data"]["price"] == "1488.01"
    assert wire["data"]["quantity"] == 100
    assert wire["data"]["action"] == "buy"
    assert wire["data"]["stock_code"] == "sh600519"
    assert wire["data"]["agent_id"] == "dip_buy"
    assert wire["data"]["decision_id"] == "d-1"
    assert wire["id"] == "c-1"
    assert datetime.fromisoformat(wire["expires_at"]) == EXPIRES

    parsed = v1.parse_from_cloud(text)
    assert isinstance(parsed, v1.TradeCommand)
    assert parsed.data.price == Decimal("1488.01")
    assert str(parsed.data.price) == "1488.01"  # exact, no binary noise


def test_trade_price_keeps_trailing_zeros_and_precision() -> None:
    text = v1.dump(_trade(Decimal("0.100")))
    assert '"price":"0.100"' in text
    parsed = v1.parse_from_cloud(text)
    assert isinstance(parsed, v1.TradeCommand)
    assert str(parsed.data.price) == "0.100"


def test_response_result_decimal_strings_stay_strings() -> None:
    text = v1.dump(NODE_TO_CLOUD[2])
    assert '"price":"1488.01"' in text
    parsed = v1.parse_from_node(text)
    assert isinstance(parsed, v1.Response)
    assert isinstance(parsed.result, TradeResult)
    assert str(parsed.result.order.price) == "1488.01"


def test_null_price_means_market_order() -> None:
    text = v1.dump(_trade(price=None))
    assert '"price":null' in text
    parsed = v1.parse_from_cloud(text)
    assert isinstance(parsed, v1.TradeCommand)
    assert parsed.data.price is None


def test_price_may_be_omitted_for_a_market_order() -> None:
    wire = json.loads(v1.dump(_trade()))
    del wire["data"]["price"]
    parsed = v1.parse_from_cloud(json.dumps(wire))
    assert isinstance(parsed, v1.TradeCommand)
    assert parsed.data.price is None


def test_v_defaults_to_one_and_is_sent() -> None:
    assert v1.Ack(command_id="x").v == 1 == v1.VERSION
    assert json.loads(v1.dump(v1.Received(seq=0))) == {"v": 1, "type": "received", "seq": 0}


# -- rejections ------------------------------------------------------------------


def _trade_wire() -> dict[str, Any]:
    return json.loads(v1.dump(_trade()))


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        v1.parse_from_cloud('{"type": "launch_missiles", "v": 1}')
    with pytest.raises(ValidationError):
        v1.parse_from_node('{"type": "launch_missiles", "v": 1}')


def test_missing_type_is_rejected() -> None:
    wire = _trade_wire()
    del wire["type"]
    with pytest.raises(ValidationError):
        v1.parse_from_cloud(json.dumps(wire))


def test_version_2_is_rejected() -> None:
    wire = _trade_wire()
    wire["v"] = 2
    with pytest.raises(ValidationError, match=r"trade\.v"):
        v1.parse_from_cloud(json.dumps(wire))
    with pytest.raises(ValidationError):
        v1.parse_from_node('{"type": "ack", "v": 2, "command_id": "c-1"}')


def test_extra_field_at_top_level_is_rejected() -> None:
    wire = _trade_wire()
    wire["priority"] = "high"
    with pytest.raises(ValidationError, match="priority"):
        v1.parse_from_cloud(json.dumps(wire))
    with pytest.raises(ValidationError, match="extra"):
        v1.parse_from_node('{"type": "ack", "v": 1, "command_id": "c-1", "extra": 1}')


def test_extra_field_inside_trade_data_is_rejected() -> None:
    wire = _trade_wire()
    wire["data"]["leverage"] = 10
    with pytest.raises(ValidationError, match="leverage"):
        v1.parse_from_cloud(json.dumps(wire))


@pytest.mark.parametrize("quantity", [0, -100])
def test_non_positive_quantity_is_rejected(quantity: int) -> None:
    wire = _trade_wire()
    wire["data"]["quantity"] = quantity
    with pytest.raises(ValidationError, match="quantity"):
        v1.parse_from_cloud(json.dumps(wire))
    with pytest.raises(ValidationError):
        v1.TradeData(action="buy", stock_code="600519", quantity=quantity)


@pytest.mark.parametrize("price", ["0", "-1.00", "-0.01"])
def test_non_positive_price_is_rejected(price: str) -> None:
    wire = _trade_wire()
    wire["data"]["price"] = price
    with pytest.raises(ValidationError, match=r"price\n  Input should be greater than 0"):
        v1.parse_from_cloud(json.dumps(wire))


@pytest.mark.parametrize("price", ["NaN", "Infinity", "abc"])
def test_non_numeric_price_is_rejected(price: str) -> None:
    wire = _trade_wire()
    wire["data"]["price"] = price
    with pytest.raises(ValidationError):
        v1.parse_from_cloud(json.dumps(wire))


def test_unknown_action_is_rejected() -> None:
    wire = _trade_wire()
    wire["data"]["action"] = "short"
    with pytest.raises(ValidationError, match="action"):
        v1.parse_from_cloud(json.dumps(wire))


@pytest.mark.parametrize("field", ["id", "issued_at", "expires_at", "data"])
def test_missing_command_field_is_rejected(field: str) -> None:
    wire = _trade_wire()
    del wire[field]
    with pytest.raises(ValidationError, match=field):
        v1.parse_from_cloud(json.dumps(wire))


def test_empty_id_is_rejected() -> None:
    wire = _trade_wire()
    wire["id"] = ""
    with pytest.raises(ValidationError, match="id"):
        v1.parse_from_cloud(json.dumps(wire))


@pytest.mark.parametrize(
    "message",
    [
        v1.Ack(command_id="c-1"),
        v1.Response(command_id="c-1", seq=1, status="done"),
        NODE_TO_CLOUD[4],
        NODE_TO_CLOUD[0],
    ],
    ids=["ack", "response", "event", "register"],
)
def test_node_to_cloud_type_is_not_a_cloud_message(message: BaseModel) -> None:
    with pytest.raises(ValidationError):
        v1.parse_from_cloud(v1.dump(message))


@pytest.mark.parametrize(
    "message",
    [_trade(), v1.Received(seq=1), CLOUD_TO_NODE[0], CLOUD_TO_NODE[5]],
    ids=["trade", "received", "register_ack", "status"],
)
def test_cloud_to_node_type_is_not_a_node_message(message: BaseModel) -> None:
    with pytest.raises(ValidationError):
        v1.parse_from_node(v1.dump(message))


def test_response_status_outside_the_table_is_rejected() -> None:
    with pytest.raises(ValidationError, match="status"):
        v1.parse_from_node(
            '{"type": "response", "v": 1, "command_id": "c", "seq": 1, "status": "ok"}'
        )


def test_seq_must_be_positive_for_responses_and_events() -> None:
    with pytest.raises(ValidationError):
        v1.Response(command_id="c", seq=0, status="done")
    with pytest.raises(ValidationError):
        v1.AccountEvent.model_validate({"seq": 0, "data": ACCOUNT})
    assert v1.Received(seq=0).seq == 0  # "nothing received yet" is a valid confirmation


def test_unknown_capability_is_rejected() -> None:
    wire = json.loads(v1.dump(NODE_TO_CLOUD[0]))
    wire["capabilities"] = ["buy", "margin"]
    with pytest.raises(ValidationError, match="capabilities"):
        v1.parse_from_node(json.dumps(wire))


def test_not_json_is_rejected() -> None:
    with pytest.raises(ValidationError):
        v1.parse_from_cloud("not json")


def test_messages_are_frozen() -> None:
    ack = v1.Ack(command_id="c-1")
    with pytest.raises(ValidationError):
        ack.command_id = "c-2"  # type: ignore[misc]


def test_naive_expires_at_is_rejected() -> None:
    wire = _trade_wire()
    wire["expires_at"] = datetime.now(UTC).replace(tzinfo=None).isoformat()
    with pytest.raises(ValidationError, match="expires_at"):
        v1.parse_from_cloud(json.dumps(wire))
