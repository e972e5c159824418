"""The node's journal and outbox on a real SQLite file (WAL)."""

from __future__ import annotations

import json
from pathlib import Path

from aigupiao.local.journal import Journal
from aigupiao.protocol import v1


async def _finished(journal: Journal, *ids: str) -> list[int]:
    seqs = []
    for command_id in ids:
        assert await journal.begin(command_id, "trade", {"id": command_id}) is None
        seqs.append(await journal.finish(command_id, "done", {"n": command_id}))
    return seqs


def _seqs(bodies: list[str]) -> list[int]:
    return [json.loads(body)["seq"] for body in bodies]


async def test_begin_is_new_once_then_returns_the_entry(journal: Journal) -> None:
    assert await journal.begin("c-1", "trade", {"price": "10.00"}) is None
    again = await journal.begin("c-1", "trade", {"price": "99.00"})
    assert again is not None
    assert (again.id, again.type, again.state, again.status, again.seq) == (
        "c-1",
        "trade",
        "running",
        None,
        None,
    )
    assert again.payload == {"price": "10.00"}  # the first payload, nothing rewritten


async def test_finish_records_the_outcome_and_queues_a_response(journal: Journal) -> None:
    await journal.begin("c-1", "trade", {})
    refusal = {"kind": "error", "code": "lot", "message": "整手 (lot)"}
    seq = await journal.finish("c-1", "rejected", refusal)
    assert seq == 1
    entry = await journal.get("c-1")
    assert entry is not None
    assert (entry.state, entry.status, entry.seq) == ("finished", "rejected", 1)
    assert entry.result == refusal
    body = await journal.body(1)
    assert body is not None
    response = v1.parse_from_node(body)
    assert response == v1.Response.model_validate(
        {"command_id": "c-1", "seq": 1, "status": "rejected", "result": refusal}
    )
    assert await journal.body(2) is None


async def test_get_unknown_is_none(journal: Journal) -> None:
    assert await journal.get("nope") is None


async def test_outbox_seqs_increase_one_two_three(journal: Journal) -> None:
    assert await _finished(journal, "c-1", "c-2", "c-3") == [1, 2, 3]


async def test_unconfirmed_lists_them_in_order(journal: Journal) -> None:
    await _finished(journal, "c-1", "c-2", "c-3")
    bodies = await journal.unconfirmed()
    assert _seqs(bodies) == [1, 2, 3]
    assert [json.loads(b)["command_id"] for b in bodies] == ["c-1", "c-2", "c-3"]


async def test_confirm_two_leaves_one_and_three(journal: Journal) -> None:
    await _finished(journal, "c-1", "c-2", "c-3")
    await journal.confirm(2)
    assert _seqs(await journal.unconfirmed()) == [1, 3]
    assert await journal.body(2) is not None  # kept, only marked confirmed


async def test_last_confirmed_seq_is_the_contiguous_prefix(journal: Journal) -> None:
    assert await journal.last_confirmed_seq() == 0  # nothing sent yet
    await _finished(journal, "c-1", "c-2", "c-3")
    assert await journal.last_confirmed_seq() == 0
    await journal.confirm(2)
    assert await journal.last_confirmed_seq() == 0  # 1 still unconfirmed
    await journal.confirm(1)
    assert await journal.last_confirmed_seq() == 2
    await journal.confirm(3)
    assert await journal.last_confirmed_seq() == 3
    assert await journal.unconfirmed() == []


async def test_confirming_twice_or_an_unknown_seq_is_harmless(journal: Journal) -> None:
    await _finished(journal, "c-1")
    await journal.confirm(1)
    await journal.confirm(1)
    await journal.confirm(99)
    assert await journal.last_confirmed_seq() == 1
    assert await journal.unconfirmed() == []


async def test_interrupted_lists_running_commands_only(journal: Journal) -> None:
    await _finished(journal, "c-1")
    await journal.begin("c-2", "trade", {"x": 1})
    await journal.begin("c-3", "export", {})
    running = await journal.interrupted()
    assert sorted((e.id, e.type) for e in running) == [("c-2", "trade"), ("c-3", "export")]
    assert all(e.state == "running" and e.seq is None for e in running)


async def test_counts_by_status(journal: Journal) -> None:
    await _finished(journal, "c-1", "c-2")
    await journal.begin("c-3", "trade", {})
    await journal.finish("c-3", "unknown", {})
    await journal.begin("c-4", "trade", {})
    assert await journal.counts() == {"done": 2, "unknown": 1, "running": 1}


async def test_a_reopened_journal_keeps_everything(journal_path: Path) -> None:
    journal = Journal(journal_path)
    try:
        await _finished(journal, "c-1", "c-2", "c-3")
        await journal.confirm(2)
        await journal.begin("c-4", "trade", {"price": "1488.01"})
    finally:
        journal.close()

    reopened = Journal(journal_path)  # the node restarts
    try:
        entry = await reopened.get("c-2")
        assert entry is not None
        assert (entry.state, entry.status, entry.seq, entry.result) == (
            "finished",
            "done",
            2,
            {"n": "c-2"},
        )
        assert _seqs(await reopened.unconfirmed()) == [1, 3]
        assert await reopened.last_confirmed_seq() == 0
        (running,) = await reopened.interrupted()
        assert running.id == "c-4" and running.payload == {"price": "1488.01"}
        again = await reopened.begin("c-1", "trade", {})
        assert again is not None and again.seq == 1
        assert await reopened.finish("c-4", "unknown", {}) == 4  # seq goes on
    finally:
        reopened.close()


async def test_the_journal_uses_wal(journal: Journal, journal_path: Path) -> None:
    await _finished(journal, "c-1")
    assert journal_path.exists()
    assert journal_path.with_name(journal_path.name + "-wal").exists()
