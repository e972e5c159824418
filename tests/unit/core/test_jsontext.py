"""JSON from outside: depth checked before parsing, in linear time."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigupiao.core.jsontext import MAX_DEPTH, JsonTooDeep, check_depth, loads

# Strings full of the characters the scan cares about.
tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\ab\u202e贵'), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def nest(value: Any, levels: int) -> Any:
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@given(values, st.integers(min_value=0, max_value=40), st.booleans())
def test_loads_takes_exactly_what_is_shallow_enough(value: Any, extra: int, ascii: bool) -> None:
    document = nest(value, extra)
    text = json.dumps(document, ensure_ascii=ascii)
    if depth(document) <= MAX_DEPTH:
        assert loads(text) == document
        assert loads(text.encode()) == document
    else:
        with pytest.raises(JsonTooDeep):
            loads(text)


@given(st.text(alphabet=st.sampled_from('[]{}"\\:,01 ae'), max_size=200))
def test_any_text_is_parsed_or_refused_with_a_value_error(text: str) -> None:
    try:
        loads(text)
    except ValueError:
        pass


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "[" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        "[" * 33 + "]" * 33,
        "[" * 40 + "}" * 40,  # mismatched pairs: invalid JSON, deep all the same
    ],
)
def test_deep_text_is_refused_before_json_loads_recurses(text: str) -> None:
    with pytest.raises(JsonTooDeep):
        loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '"' + "\\" + '"' * 50_000,  # escaped quotes: strings that never end
        '["a\\"' + "[" * 40 + '"]',  # brackets inside a string with an escaped quote
        '["\\\\", "' + "[" * 40 + '"]',  # an escaped backslash before a closing quote
        '"' + "[" * 100,  # an unterminated string
    ],
)
def test_strings_and_escapes_are_read_as_the_parser_reads_them(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            loads(text)
    else:
        assert loads(text) == expected


def test_nan_and_infinity_are_not_json() -> None:
    for text in ("NaN", "[Infinity]", '{"a": -Infinity}'):
        with pytest.raises(ValueError, match="is not JSON"):
            loads(text)


def test_decimals_stay_exact_and_bytes_must_be_utf8() -> None:
    assert loads('{"p": 1488.10}', parse_float=Decimal) == {"p": Decimal("1488.10")}
    with pytest.raises(UnicodeDecodeError):
        loads(b'["\xff"]')


def test_the_scan_is_linear() -> None:
    quote = {"code": "sh600519", "name": "贵州茅台", "bids": [["1487.99", 300]] * 5}
    text = json.dumps({"quotes": [quote] * 20_000}, ensure_ascii=False)  # ~2 MB
    began = time.perf_counter()
    check_depth(text)
    assert time.perf_counter() - began < 1.0  # tens of ms; seconds if it were quadratic
    # A string that never ends (escaped quotes all the way): its brackets are its own.
    hostile = '"' + '\\"' * 300_000 + "[" * 40
    began = time.perf_counter()
    check_depth(hostile)
    assert time.perf_counter() - began < 1.0
    with pytest.raises(ValueError, match="Unterminated string"):
        loads(hostile)
