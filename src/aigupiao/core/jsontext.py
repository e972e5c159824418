"""JSON text from outside, parsed with its nesting depth checked first.

:func:`json.loads` recurses once per level of nesting, so ``[[[[...`` a hundred
thousand deep raises :class:`RecursionError`, which no caller expects: a request
answered 500, a WebSocket dropped. :func:`loads` measures the depth before parsing,
in linear time, and refuses text nested deeper than :data:`MAX_DEPTH` as invalid
JSON (:class:`JsonTooDeep`, a :class:`ValueError` like every other parse error).
It also refuses ``NaN`` and ``Infinity``, which are not JSON.

pydantic's ``validate_json`` has a recursion limit of its own and needs none of this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32  # the deepest real document (a quote push) is 4 levels

# Only quotes and brackets matter to the depth; "{}" count as "[]" (a mismatched pair is
# invalid JSON, which the parser itself reports without recursing any deeper).
_KEEP = b'"[]{}'
_DROP = bytes(byte for byte in range(256) if byte not in _KEEP)
_SAME_BRACKETS = bytes.maketrans(b"{}", b"[]")
# A string, or an unterminated one up to the end (a stray quote cannot make it quadratic).
_STRING = re.compile(rb'"[^"]*(?:"|\Z)')


class JsonTooDeep(ValueError):
    """The text is nested deeper than allowed (or its brackets do not pair up)."""


def check_depth(text: str | bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` if the arrays and objects of ``text`` nest deeper than
    ``max_depth`` or its brackets (outside strings) do not pair up; else return.

    Linear, and all of it in C: escapes are removed, then everything but quotes and
    brackets, then the strings; each pass then removes the innermost pairs, so the number
    of passes is the depth, and at most ``max_depth`` passes run. UTF-8 never uses an
    ASCII byte inside a multi-byte character, so bytes can be scanned as they are.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return  # cannot nest deeper than it has brackets
    if b"\\" in data:  # escapes pair up left to right: drop \\ first, then \"
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_SAME_BRACKETS, _DROP)
    brackets = marks.replace(b'""', b"")  # the usual case: no string holds a bracket
    if b'"' in brackets:
        brackets = _STRING.sub(b"", marks)
    for _ in range(max_depth):
        if not brackets:
            return
        inner_removed = brackets.replace(b"[]", b"")
        if len(inner_removed) == len(brackets):
            raise JsonTooDeep("brackets do not pair up")
        brackets = inner_removed
    if brackets:
        raise JsonTooDeep(f"nested deeper than {max_depth} levels")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(
    text: str | bytes,
    *,
    parse_float: Callable[[str], Any] | None = None,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """:func:`json.loads` for untrusted text: depth checked first, no ``NaN``/``Infinity``.

    Raises:
        ValueError: not JSON (:class:`json.JSONDecodeError`), not UTF-8
            (:class:`UnicodeDecodeError`) or nested too deep (:class:`JsonTooDeep`).
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    check_depth(text, max_depth)
    return json.loads(text, parse_float=parse_float, parse_constant=_no_constant)


__all__ = ["MAX_DEPTH", "JsonTooDeep", "check_depth", "loads"]
