"""The compiled chagubang parser agrees with the Python one, record for record.

The C module (``_chagubang_fast.c``) parses the happy path and hands everything else back
to :class:`RecordParser`'s Python code. These tests run two parsers side by side, one
accelerated and one pure Python, over streams of records that share codes (so the reuse
of unchanged fields and book levels is exercised) with fields mutated at random, and
require the same quote (compared by ``repr``, so ``Decimal('1.0')`` and ``Decimal('1.00')``
differ) or the same refusal for every record.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigupiao.bench.chagubang import Tape
from aigupiao.market.feeds.chagubang_wire import BadRecord, RecordParser

from .test_chagubang_parser import MOUTAI, edit

ACCELERATED = RecordParser().accelerated

if not ACCELERATED and os.environ.get("CI") == "true":
    pytest.fail(
        "the C parser (_chagubang_fast) is not built: `make setup` compiles it", pytrace=False
    )
pytestmark = pytest.mark.skipif(
    not ACCELERATED, reason="the C parser is not built here (no C compiler at install time)"
)


def outcome(parser: RecordParser, payload: bytes) -> str:
    try:
        return repr(parser.parse(payload))
    except BadRecord as exc:
        return f"refused: {exc.reason}"


def agree(payloads: list[bytes]) -> None:
    fast, pure = RecordParser(), RecordParser(accelerated=False)
    assert fast.accelerated and not pure.accelerated
    for number, payload in enumerate(payloads):
        assert outcome(fast, payload) == outcome(pure, payload), (number, payload)


# Values a field may take: what the vendor sends, and what a broken stream might.
ODD_VALUES = (
    "", "0", "0.00", "1488.00", "1488.0", "1488", "-1", "1e3", "NaN", "inf", "12.0", " 12",
    "+12", "1_000", "00012", "99999999999999999", "1772417703", "abc", "贵州", "\x00", "1.2.3",
    "0.001", "123456789.12", "1234567890123456",
)  # fmt: skip
FIELD_VALUES = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False).map(str),
    st.integers(min_value=-5, max_value=10**16).map(str),
    st.text(max_size=6),
)


@st.composite
def streams(draw: st.DrawFn) -> list[bytes]:
    """Records of two codes, each a MOUTAI-like record with some fields changed."""
    records = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        code = draw(st.sampled_from(["SH600519", "SZ000001", "SH60051", "XX600519"]))
        changes = {f"f{i}": draw(FIELD_VALUES) for i in draw(st.sets(st.integers(1, 32)))}
        payload = edit(MOUTAI, f0=code, **changes)
        if draw(st.integers(0, 20)) == 0:  # a field too many or too few now and then
            payload = payload + b"$1" if draw(st.booleans()) else payload.rsplit(b"$", 1)[0]
        records.append(payload)
    return records


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_mutated_records_parse_alike(payloads: list[bytes]) -> None:
    agree(payloads)


@st.composite
def books(draw: st.DrawFn) -> list[bytes]:
    """One code's records whose book levels move, shift by a place, empty and refill."""
    prices = st.sampled_from(["1488.00", "1488.01", "1487.99", "1489.00", "0", "", "0.00"])
    volumes = st.sampled_from(["0", "1", "3", "40", "", "-2", "7.0"])
    records = []
    for _ in range(draw(st.integers(min_value=2, max_value=10))):
        changes = {}
        for i in draw(st.sets(st.integers(9, 28), max_size=12)):
            changes[f"f{i}"] = draw(prices if i in range(9, 14) or i in range(19, 24) else volumes)
        records.append(edit(MOUTAI, **changes))
    return records


@settings(max_examples=300, deadline=None)
@given(books())
def test_moving_books_parse_alike(payloads: list[bytes]) -> None:
    agree(payloads)


def test_a_simulated_market_parses_alike() -> None:
    tape = Tape(300, bse=10, indexes=2, seed=7)
    agree([payload for _ in range(8) for _, payload in tape.next_round()])


def test_non_bytes_and_odd_payloads_step_aside() -> None:
    fast = RecordParser()
    assert fast._fast is not None
    assert fast._fast(bytearray(MOUTAI.encode())) is None  # type: ignore[arg-type]
    assert fast._fast(b"") is None
    assert fast._fast(MOUTAI.encode() + b"$") is None
    with pytest.raises(BadRecord) as refused:
        fast.parse(b"")
    assert refused.value.reason == "field_count"


def test_no_reference_is_leaked() -> None:
    """Parsing the same records again and again leaves no objects behind."""
    fast = RecordParser()
    tape = Tape(50, bse=0, indexes=0, seed=3)
    rounds = [[payload for _, payload in tape.next_round()] for _ in range(4)]
    bad = [edit(MOUTAI, f7="x"), edit(MOUTAI, f6="abc"), edit(MOUTAI, f0="SH60051")]

    def work() -> None:
        for payloads in rounds:
            for payload in payloads + bad:
                try:
                    fast.parse(payload)
                except BadRecord:
                    pass

    work()
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(20):
        work()
    gc.collect()
    # Caches are warm, so a leak of even one object per record would show as thousands.
    assert sys.getallocatedblocks() - before < 200
