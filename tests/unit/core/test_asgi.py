"""The body cap at the ASGI level: exactly how much reaches the app and the client."""

from __future__ import annotations

import json
from typing import Any

from aigupiao.core.asgi import BodyLimit, SecurityHeaders


class Wire:
    """The server side of one request: ``parts`` of the body, and what was answered."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts, self.reads, self.sent = parts, 0, []

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        if self.reads > len(self.parts):
            return {"type": "http.disconnect"}
        more = self.reads < len(self.parts)
        return {"type": "http.request", "body": self.parts[self.reads - 1], "more_body": more}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def reading_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, then answers 200 with how much it got."""
    got = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        got += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(got).encode()})


def _scope(**headers: str) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "path": "/x", "headers": raw}


async def test_a_streamed_body_is_cut_at_the_cap_and_never_read_further() -> None:
    wire = Wire([b"x" * 100] * 50)  # 5,000 bytes in 100-byte parts, no Content-Length
    await BodyLimit(reading_app, 1000)(_scope(), wire.receive, wire.send)
    assert wire.reads == 11  # the part that crossed the cap was the last one read
    (start, body) = wire.sent  # the app's own answer afterwards was dropped
    assert start["status"] == 413
    assert json.loads(body["body"])["detail"]["limit"] == 1000


async def test_a_declared_length_over_the_cap_reads_nothing_and_under_it_everything() -> None:
    wire = Wire([b"x" * 10])  # it says 5,000 but sends 10: refused on what it says
    await BodyLimit(reading_app, 1000)(
        _scope(**{"Content-Length": "5000"}), wire.receive, wire.send
    )
    assert wire.reads == 0 and wire.sent[0]["status"] == 413
    wire = Wire([b"x" * 400, b"x" * 600])  # exactly the cap
    await BodyLimit(reading_app, 1000)(_scope(), wire.receive, wire.send)
    assert wire.sent[0]["status"] == 200 and wire.sent[1]["body"] == b"1000"
    wire = Wire([b"x" * 2000])  # a larger cap for this path
    limited = BodyLimit(reading_app, 1000, per_path={"/x": 4000})
    await limited(_scope(), wire.receive, wire.send)
    assert wire.sent[1]["body"] == b"2000"


async def test_headers_are_added_and_the_apps_own_kept() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"x-frame-options", b"SAMEORIGIN")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    wire = Wire([])
    await SecurityHeaders(app, csp="default-src 'self'")(_scope(), wire.receive, wire.send)
    headers = dict(wire.sent[0]["headers"])
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"content-security-policy"] == b"default-src 'self'"
