"""The executor: journal, ack, expiry check, broker call, journaled outcome; exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aigupiao.brokers.base import Broker, BrokerUnavailable, OrderRequest
from aigupiao.domain.orders import OrderType, Side
from aigupiao.local.executor import Executor
from aigupiao.local.journal import Journal
from aigupiao.protocol import v1

from .fakes import PINGAN, FakeBroker, order_for, trade_command


def _response(body: str | None) -> v1.Response:
    assert body is not None
    message = v1.parse_from_node(body)
    assert isinstance(message, v1.Response)
    return message


def test_the_fake_honours_the_broker_port(broker: FakeBroker) -> None:
    assert isinstance(broker, Broker)


async def test_a_trade_is_journaled_before_the_broker_is_called(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    command = trade_command()
    seen: list[Any] = []

    async def look(request: OrderRequest) -> None:
        seen.append(await journal.get(request.client_order_id))

    broker.on_place = look
    seq = await executor.execute(command)

    (at_call,) = seen
    assert at_call is not None, "the broker was called before the command was journaled"
    assert at_call.state == "running" and at_call.status is None and at_call.seq is None
    assert at_call.type == "trade"
    assert at_call.payload == command.model_dump(mode="json")
    assert at_call.payload["data"]["price"] == "10.00"

    assert seq == 1
    entry = await journal.get("c-1")
    assert entry is not None
    assert (entry.state, entry.status, entry.seq) == ("finished", "done", 1)


async def test_the_order_request_carries_the_command(
    executor: Executor, broker: FakeBroker
) -> None:
    await executor.execute(trade_command("c-7", price=Decimal("10.01"), action="sell"))
    (request,) = broker.called("place_order")
    assert request == OrderRequest(
        account="paper-1",
        symbol=PINGAN,
        side=Side.SELL,
        type=OrderType.LIMIT,
        quantity=100,
        price=Decimal("10.01"),
        client_order_id="c-7",
    )


async def test_a_null_price_is_a_market_order(executor: Executor, broker: FakeBroker) -> None:
    await executor.execute(trade_command(price=None))
    (request,) = broker.called("place_order")
    assert request.type is OrderType.MARKET and request.price is None


async def test_a_done_trade_reports_order_trades_and_account(
    executor: Executor, journal: Journal
) -> None:
    seq = await executor.execute(trade_command())
    assert seq is not None
    response = _response(await journal.body(seq))
    assert (response.command_id, response.seq, response.status) == ("c-1", 1, "done")
    result = response.result.model_dump(mode="json")
    assert result["order"]["client_order_id"] == "c-1"
    assert result["order"]["status"] == "filled"
    assert result["order"]["filled_quantity"] == 100
    assert result["order"]["price"] == "10.00"
    assert [t["price"] for t in result["trades"]] == ["10.00"]
    assert result["trades"][0]["amount"] == "1000.00"
    assert result["account"]["cash"] == "8994.99"
    assert result["account"]["positions"][0]["cost_price"] == "10.0501"
    assert executor.last_result is not None
    assert executor.last_result["command_id"] == "c-1"
    assert executor.last_result["status"] == "done"


async def test_a_repeated_id_returns_the_same_seq_and_trades_once(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    acks: list[str] = []

    async def ack() -> None:
        acks.append("ack")

    command = trade_command()
    first = await executor.execute(command, ack)
    second = await executor.execute(command, ack)
    third = await executor.execute(trade_command("c-1", price=Decimal("11.00")), ack)
    assert first == second == third == 1
    assert len(broker.called("place_order")) == 1
    assert acks == ["ack", "ack", "ack"]  # duplicates are acknowledged too
    assert len(await journal.unconfirmed()) == 1  # one response, not three


async def test_a_duplicate_of_a_running_command_is_not_run(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    command = trade_command()
    assert await journal.begin(command.id, "trade", command.model_dump(mode="json")) is None
    assert await executor.execute(command) is None
    assert broker.calls == []
    entry = await journal.get(command.id)
    assert entry is not None and entry.state == "running"


async def test_an_expired_command_never_reaches_the_broker(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    acks: list[str] = []

    async def ack() -> None:
        acks.append("ack")

    seq = await executor.execute(trade_command(ttl=timedelta(seconds=-1)), ack)
    assert broker.calls == []
    assert acks == ["ack"]
    entry = await journal.get("c-1")
    assert entry is not None
    assert (entry.state, entry.status, entry.seq) == ("finished", "expired", seq)
    assert entry.result is not None and entry.result["code"] == "expired"
    assert "未提交" in entry.result["message"] and "not sent" in entry.result["message_en"]
    assert _response(await journal.body(1)).status == "expired"


async def test_a_broker_rejection_is_rejected_with_its_code(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    broker.outcome = "reject"
    broker.reject_code = "cash"
    seq = await executor.execute(trade_command())
    response = _response(await journal.body(seq or 0))
    assert response.status == "rejected"
    assert response.result.model_dump(mode="json")["code"] == "cash"
    assert response.result.model_dump(mode="json")["message"] == "可用资金不足"
    assert response.result.model_dump(mode="json")["message_en"] == "not enough cash"
    # The account as it stands.
    assert response.result.model_dump(mode="json")["account"]["id"] == "paper-1"
    assert len(broker.called("place_order")) == 1


async def test_a_broker_timeout_is_unknown_not_failed(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    broker.outcome = "timeout"
    seq = await executor.execute(trade_command())
    response = _response(await journal.body(seq or 0))
    assert response.status == "unknown"
    assert response.result.model_dump(mode="json")["code"] == "broker_timeout"
    assert len(broker.called("place_order")) == 1  # never resubmitted


async def test_a_hanging_broker_times_out_as_unknown(broker: FakeBroker, journal: Journal) -> None:
    broker.outcome = "hang"
    executor = Executor(broker, journal, broker_timeout=0.1)
    started = time.monotonic()
    seq = await executor.execute(trade_command())
    assert time.monotonic() - started < broker.hang_seconds / 2
    entry = await journal.get("c-1")
    assert entry is not None and entry.status == "unknown" and entry.seq == seq
    assert entry.result is not None and entry.result["code"] == "broker_timeout"


async def test_an_unavailable_broker_fails(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    broker.outcome = "unavailable"
    await executor.execute(trade_command())
    entry = await journal.get("c-1")
    assert entry is not None and entry.status == "failed"
    assert entry.result is not None and entry.result["code"] == "broker_unavailable"
    assert entry.result["message_en"] == "broker client not running"


async def test_a_rejection_is_reported_even_if_the_account_cannot_be_read(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    broker.outcome = "reject"
    broker.account_error = BrokerUnavailable("客户端未运行", "client not running")
    await executor.execute(trade_command())
    entry = await journal.get("c-1")
    assert entry is not None and entry.status == "rejected"
    assert entry.result is not None and entry.result["code"] == "cash"
    assert "account" not in entry.result


async def test_an_invalid_stock_code_is_rejected_without_the_broker(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    await executor.execute(trade_command(stock_code="12345"))
    assert broker.called("place_order") == []
    entry = await journal.get("c-1")
    assert entry is not None and entry.status == "rejected"
    assert entry.result is not None and entry.result["code"] == "invalid_symbol"


async def test_ack_is_awaited_after_journaling_and_before_the_broker(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    order: list[str] = []

    async def ack() -> None:
        entry = await journal.get("c-1")
        order.append(f"ack:{entry.state if entry else 'not journaled'}")

    async def place(request: OrderRequest) -> None:
        order.append("place_order")

    broker.on_place = place
    await executor.execute(trade_command(), ack)
    assert order == ["ack:running", "place_order"]


async def test_a_cancel_command(executor: Executor, broker: FakeBroker, journal: Journal) -> None:
    now = datetime.now(UTC)
    command = v1.CancelCommand(
        id="c-2",
        issued_at=now,
        expires_at=now + timedelta(seconds=10),
        data=v1.CancelData(order_id="o-5"),
    )
    seq = await executor.execute(command)
    assert broker.called("cancel_order") == ["o-5"]
    response = _response(await journal.body(seq or 0))
    assert response.status == "done"
    assert response.result.model_dump(mode="json")["order"]["id"] == "o-5"
    assert response.result.model_dump(mode="json")["order"]["status"] == "cancelled"


# -- interrupted commands ----------------------------------------------------------


async def _interrupted(journal_path: Path, command_id: str = "c-9", kind: str = "trade") -> None:
    """Journal a command and stop before finishing it: the node died mid-call."""
    journal = Journal(journal_path)
    try:
        command = trade_command(command_id)
        assert await journal.begin(command_id, kind, command.model_dump(mode="json")) is None
    finally:
        journal.close()


async def test_an_interrupted_trade_the_broker_never_got_is_unknown(
    journal_path: Path, broker: FakeBroker
) -> None:
    await _interrupted(journal_path)
    journal = Journal(journal_path)
    try:
        assert [e.id for e in await journal.interrupted()] == ["c-9"]
        broker.found = None
        executor = Executor(broker, journal, broker_timeout=2.0)
        assert await executor.resolve_interrupted() == ["c-9"]

        assert broker.called("find_order") == ["c-9"]
        assert broker.called("place_order") == []
        entry = await journal.get("c-9")
        assert entry is not None
        assert (entry.state, entry.status, entry.seq) == ("finished", "unknown", 1)
        assert entry.result is not None and entry.result["code"] == "interrupted"
        assert _response(await journal.body(1)).status == "unknown"
        assert await journal.interrupted() == []
        assert await executor.resolve_interrupted() == []
        # A re-delivery of the same command is answered from the journal, not traded.
        assert await executor.execute(trade_command("c-9")) == 1
        assert broker.called("place_order") == []
    finally:
        journal.close()


async def test_an_interrupted_trade_the_broker_has_is_done(
    journal_path: Path, broker: FakeBroker
) -> None:
    await _interrupted(journal_path)
    journal = Journal(journal_path)
    try:
        broker.found = order_for("c-9")
        executor = Executor(broker, journal, broker_timeout=2.0)
        assert await executor.resolve_interrupted() == ["c-9"]
        assert broker.called("place_order") == []
        entry = await journal.get("c-9")
        assert entry is not None and (entry.status, entry.seq) == ("done", 1)
        assert entry.result is not None
        assert entry.result["resolved_by"] == "broker_query"
        assert entry.result["order"]["client_order_id"] == "c-9"
        assert entry.result["order"]["status"] == "filled"
    finally:
        journal.close()


async def test_an_interrupted_export_is_unknown_without_asking_for_an_order(
    journal_path: Path, broker: FakeBroker
) -> None:
    await _interrupted(journal_path, "c-8", kind="export")
    journal = Journal(journal_path)
    try:
        assert await Executor(broker, journal, broker_timeout=2.0).resolve_interrupted() == ["c-8"]
        assert broker.calls == []
        entry = await journal.get("c-8")
        assert entry is not None and entry.status == "unknown"
    finally:
        journal.close()


async def test_a_node_restart_does_not_trade_a_finished_command_again(
    journal_path: Path, broker: FakeBroker
) -> None:
    journal = Journal(journal_path)
    try:
        assert await Executor(broker, journal, broker_timeout=2.0).execute(trade_command()) == 1
    finally:
        journal.close()
    reopened = Journal(journal_path)
    try:
        executor = Executor(broker, reopened, broker_timeout=2.0)
        assert await executor.resolve_interrupted() == []
        assert await executor.execute(trade_command()) == 1
        assert await executor.execute(trade_command("c-2")) == 2
        assert [r.client_order_id for r in broker.called("place_order")] == ["c-1", "c-2"]
    finally:
        reopened.close()


# -- known defects (see the reasons) -----------------------------------------------


async def test_a_placed_order_is_done_even_if_the_account_read_fails(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    broker.account_error = BrokerUnavailable("客户端未运行", "client not running")
    await executor.execute(trade_command())
    assert len(broker.called("place_order")) == 1
    entry = await journal.get("c-1")
    assert entry is not None and entry.result is not None
    assert entry.status == "done", entry.result
    assert entry.result["order"]["status"] == "filled"


async def test_a_failed_broker_query_is_not_reported_as_no_such_order(
    journal_path: Path, broker: FakeBroker
) -> None:
    await _interrupted(journal_path)
    journal = Journal(journal_path)
    try:
        broker.find_error = BrokerUnavailable("客户端未运行", "client not running")
        await Executor(broker, journal, broker_timeout=2.0).resolve_interrupted()
        assert broker.called("find_order") == ["c-9"]
        assert broker.called("place_order") == []
        entry = await journal.get("c-9")
        assert entry is not None
        result = entry.result or {}
        assert "no such order" not in result.get("message_en", ""), result
    finally:
        journal.close()


async def test_a_timed_out_trade_is_resolved_by_asking_the_broker_on_restart(
    executor: Executor, broker: FakeBroker, journal: Journal
) -> None:
    broker.outcome = "timeout"
    assert await executor.execute(trade_command("c-7")) == 1
    entry = await journal.get("c-7")
    assert entry is not None and entry.status == "unknown"
    # Not at the broker (yet): it stays unknown and nothing new is reported.
    assert await executor.resolve_interrupted() == []
    assert (await journal.get("c-7")).status == "unknown"  # type: ignore[union-attr]
    # The broker has it after all: the node reports done, and still never resubmits.
    broker.found = order_for("c-7")
    assert await executor.resolve_interrupted() == ["c-7"]
    resolved = await journal.get("c-7")
    assert resolved is not None and resolved.status == "done" and resolved.seq == 2
    assert resolved.result is not None and resolved.result["resolved_by"] == "broker_query"
    assert len(broker.called("place_order")) == 1
