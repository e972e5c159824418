"""The decision log read back: each decision with the command it became and how it ended.

A decision's *outcome* follows it to the end: no command (the gate refused it, or it
could not be sent: ``not_sent``), the command still on its way (``pending``), the
command's own end when the node gave no order (``rejected``, ``failed``, ``expired``,
``unknown``) or else the status of the order it placed (``submitted``,
``partially_filled``, ``filled``, ``cancelled``, ``rejected`` ...), with the filled
quantity, the average fill price and the broker's message.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aigupiao.domain.decisions import CommandStatus
from aigupiao.store import Database, DecisionRepo

from .pipeline import RUNNER_INPUTS

_PRICE = Decimal("0.0001")


async def list_decisions(db: Database, **filters: Any) -> list[dict[str, Any]]:
    """Decisions newest first (filters as :meth:`DecisionRepo.list`), each with
    ``action``, ``code``, ``confidence`` and its ``outcome`` status."""
    async with db.session() as session:
        repo = DecisionRepo(session)
        rows = await repo.list(**filters)
        command_ids = {row["command_id"] for row in rows if row["command_id"]}
        commands = await repo.commands(command_ids)
        orders = await repo.orders_of(command_ids)
    listed = []
    for row in rows:
        command = commands.get(row["command_id"]) if row["command_id"] else None
        outcome = _outcome(row, command, orders.get(row["command_id"] or "", []))
        listed.append({**_summary(row), "outcome": None if outcome is None else outcome["status"]})
    return listed


async def decision_story(db: Database, decision_id: str) -> dict[str, Any] | None:
    """Everything about one decision: inputs, risk verdict, command, outcome, events."""
    async with db.session() as session:
        repo = DecisionRepo(session)
        row = await repo.get(decision_id)
        if row is None:
            return None
        command_id = row["command_id"]
        command = (await repo.commands([command_id])).get(command_id) if command_id else None
        orders = (await repo.orders_of([command_id])).get(command_id, []) if command_id else []
        events, fills = await repo.order_history(
            [(order["account"], order["id"]) for order in orders]
        )
    outcome = _outcome(row, command, orders)
    stored = dict(row["inputs"] or {})
    zh, en = _messages(row, stored)
    return {
        **_summary(row),
        "outcome": outcome,
        "inputs": {k: v for k, v in stored.items() if k not in RUNNER_INPUTS},
        "risk": {
            "verdict": row["verdict"],
            "rule": row["rule"],
            "values": stored.get("risk_values") or {},
            "message": zh,
            "message_en": en,
        },
        "command": command,
        "orders": orders,
        "events": _events(row, command, events, fills),
    }


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    inputs = row["inputs"] or {}
    return {
        **row,
        "action": row["side"],
        "code": row["symbol"],
        "confidence": inputs.get("confidence"),
    }


def _messages(row: dict[str, Any], inputs: dict[str, Any]) -> tuple[str | None, str | None]:
    """The risk message in Chinese and English (older decisions, manual ones among them,
    keep only ``中文 (English)``: split at the first `` (``)."""
    zh, en = inputs.get("risk_message_zh"), inputs.get("risk_message_en")
    if zh or en:
        return zh, en
    message = row["risk_message"]
    if not message:
        return None, None
    head, sep, tail = message.partition(" (")
    if sep and tail.endswith(")"):
        return head, tail[:-1]
    return message, message


def _outcome(
    row: dict[str, Any], command: dict[str, Any] | None, orders: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if command is None:
        if row["verdict"] == "accepted":
            return {"status": "not_sent", "filled_quantity": 0, "avg_price": None,
                    "broker_message": None}  # fmt: skip
        return None
    status = CommandStatus(command["status"])
    result = command["result"] or {}
    message = result.get("message") or result.get("error")
    filled = sum(int(order["filled_quantity"]) for order in orders)
    amount = sum((Decimal(order["filled_amount"]) for order in orders), Decimal(0))
    average = (amount / filled).quantize(_PRICE) if filled else None
    if not status.is_final:
        state = "pending"
    elif orders:
        state = str(orders[-1]["status"])
        message = orders[-1]["reason"] or message
    else:
        state = "done" if status is CommandStatus.DONE else status.value
    return {"status": state, "filled_quantity": filled, "avg_price": average,
            "broker_message": message or None}  # fmt: skip


def _events(
    row: dict[str, Any],
    command: dict[str, Any] | None,
    order_events: list[dict[str, Any]],
    fills: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The decision's history, oldest first."""
    ts: datetime = row["ts"]
    timeline: list[dict[str, Any]] = [
        {"ts": ts, "kind": "decision",
         "detail": {"strategy": row["strategy"], "reason": row["reason"]}},
        {"ts": ts, "kind": "risk",
         "detail": {"verdict": row["verdict"], "rule": row["rule"],
                    "message": row["risk_message"]}},
    ]  # fmt: skip
    if command is not None:
        base = {"command_id": command["id"], "node_id": command["node_id"]}
        for column, kind in (("issued_at", "command_issued"), ("sent_at", "command_sent"),
                             ("acked_at", "command_acked")):  # fmt: skip
            if command[column] is not None:
                timeline.append({"ts": command[column], "kind": kind, "detail": dict(base)})
        if command["finished_at"] is not None:
            timeline.append(
                {"ts": command["finished_at"], "kind": "command_finished",
                 "detail": {**base, "status": command["status"],
                            "message": (command["result"] or {}).get("message")}}
            )  # fmt: skip
    for event in order_events:
        timeline.append(
            {"ts": event["ts"], "kind": "order",
             "detail": {"order_id": event["order_id"], "status": event["status"],
                        "filled_quantity": event["filled_quantity"], **(event["data"] or {})}}
        )  # fmt: skip
    for fill in fills:
        timeline.append(
            {"ts": fill["ts"], "kind": "fill",
             "detail": {"trade_id": fill["id"], "order_id": fill["order_id"],
                        "quantity": fill["quantity"], "price": fill["price"],
                        "amount": fill["amount"]}}
        )  # fmt: skip
    # Stages first, time within a stage: the decision is stamped by the market clock,
    # the command by the cloud's and the order by the broker's, which a simulated or
    # replayed market sets apart.
    stage = {"decision": 0, "risk": 0, "command_issued": 1, "command_sent": 1,
             "command_acked": 1}  # fmt: skip
    kind_order = {"decision": 0, "risk": 1, "command_issued": 2, "command_sent": 3,
                  "command_acked": 4, "order": 5, "fill": 6, "command_finished": 7}  # fmt: skip
    return sorted(timeline, key=lambda e: (stage.get(e["kind"], 2), e["ts"], kind_order[e["kind"]]))
