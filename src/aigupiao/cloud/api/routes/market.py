"""Market data over HTTP and WebSocket: quotes, bars, stats, external pushers, the stream.

``GET /api/quotes``, ``GET /api/quotes/{code}``, ``GET /api/bars/{code}``,
``GET /api/market/stats``, ``POST /api/market/quotes``, ``WS /api/market/ws`` (pushers)
and ``WS /api/stream`` (dashboards). Quotes have the shape of
:mod:`aigupiao.market.quote_json`; money and prices are decimal strings everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, WebSocket, WebSocketDisconnect

from aigupiao.core import jsontext
from aigupiao.domain.errors import DomainError
from aigupiao.domain.ranges import FIRST_YEAR, LAST_YEAR, time_in_range
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import parse_symbol
from aigupiao.domain.users import Role
from aigupiao.market.quote_json import parse_json, quote_to_dict
from aigupiao.protocol.bounds import SecurityCode
from aigupiao.store import BarRepo, QuoteRepo, SymbolRepo

from ...deps import Reader, Runtime, Trader, Viewer, websocket_principal
from ...errors import InvalidRequest, NotFound, ServiceError
from ...runtime import CloudRuntime
from ...services.stream import ALL, MAX_CODES, QuoteStream, StreamClient
from ..public import trim

router = APIRouter(prefix="/api", tags=["market"])

FREQS = ("1m", "1d")
MAX_PUSH = 10_000  # quotes per request or message
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
SEND_TIMEOUT = 10.0

_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["quotes"],
                    "properties": {
                        "quotes": {
                            "type": "array",
                            "maxItems": MAX_PUSH,
                            "items": {"type": "object"},
                            "description": "见 docs/feeds.md (see docs/feeds.md)",
                        }
                    },
                },
                "example": {
                    "quotes": [
                        {
                            "code": "sh600519",
                            "ts": "2026-11-24T10:15:03+08:00",
                            "last": "1488.00",
                            "previous_close": "1480.00",
                            "open": "1481.00",
                            "high": "1490.50",
                            "low": "1479.99",
                            "volume": 1234500,
                            "amount": "1834567890.12",
                        }
                    ]
                },
            }
        },
    }
}


# -- quotes ---------------------------------------------------------------------------


@router.get("/quotes")
async def list_quotes(
    runtime: Runtime,
    _: Reader,
    response: Response,
    codes: Annotated[
        str | None,
        Query(
            max_length=MAX_CODES * 10,
            description="逗号分隔的代码 (comma-separated codes), sh600519,sz000001",
        ),
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_CODES, description="默认全部 (all)")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    """The latest quote per symbol from memory, by code; ``X-Total-Count`` has the total."""
    latest = runtime.market.latest
    if codes:
        wanted = _codes(codes.split(","))
        quotes = [latest[code] for code in sorted(wanted) if code in latest]
    else:
        quotes = [latest[code] for code in sorted(latest)]
    response.headers["X-Total-Count"] = str(len(quotes))
    page = quotes[offset : None if limit is None else offset + limit]
    return [quote_to_dict(quote) for quote in page]


@router.get("/quotes/{code}")
async def get_quote(code: SecurityCode, runtime: Runtime, _: Reader) -> dict[str, Any]:
    """The latest quote of one symbol: from memory, else the last one stored."""
    full = _full_code(code)
    quote = runtime.market.quote(full)
    if quote is not None:
        return quote_to_dict(quote)
    async with runtime.db.session() as session:
        stored = await QuoteRepo(session).get_latest(full)
        symbol = await SymbolRepo(session).get(full) if stored is not None else None
    if stored is None:
        raise NotFound(f"没有 {full} 的行情", f"no quote for {full}")
    return _stored_quote(stored, symbol["name"] if symbol else "")


# -- bars -----------------------------------------------------------------------------


@router.get("/bars/{code}")
async def list_bars(
    code: SecurityCode,
    runtime: Runtime,
    _: Reader,
    freq: Annotated[str, Query(max_length=8, description="1m 或 1d")] = "1m",
    start: Annotated[
        str | None,
        Query(max_length=40, description="起始日期或时间 (ISO 8601; 无时区为北京时间)"),
    ] = None,
    end: Annotated[
        str | None, Query(max_length=40, description="截止日期或时间（含）(inclusive)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Bars of one symbol, oldest first; the newest ``limit`` when more match."""
    full = _full_code(code)
    if freq not in FREQS:
        raise InvalidRequest(
            f"不支持的周期 {freq!r}，可用：1m、1d",
            f"unsupported freq {freq!r}; use 1m or 1d",
            code="invalid_freq",
        )
    first = _moment(start, "start", end_of_day=False)
    last = _moment(end, "end", end_of_day=True)
    if first is not None and last is not None and first > last:
        raise InvalidRequest(
            f"起始时间 {start} 晚于截止时间 {end}",
            f"start {start} is after end {end}",
            code="invalid_range",
        )
    if freq == "1m":
        await runtime.bars.flush()  # read your own bars: write the closed ones first
    async with runtime.db.session() as session:
        rows = await BarRepo(session).list(full, freq, start=first, end=last, limit=limit)
    return [_bar_public(row) for row in rows]


# -- stats ----------------------------------------------------------------------------


@router.get("/market/stats")
async def market_stats(runtime: Runtime, _: Viewer) -> dict[str, Any]:
    """Accepted and refused quotes by source (and reason), bars, raw snapshots, streams."""
    return market_counters(runtime)


def market_counters(runtime: CloudRuntime) -> dict[str, Any]:
    market = runtime.market
    return {
        "symbols": len(market.latest),
        "quotes": {"accepted_total": runtime.stats.quotes, **market.validator.counters()},
        "max_quote_age": runtime.settings.market.max_quote_age,
        "bars": runtime.bars.counters(),
        "raw": runtime.raw.counters() if runtime.raw is not None else {"enabled": False},
        "stream": {"clients": len(runtime.stream.clients)},
    }


# -- external pushers -----------------------------------------------------------------


@router.post("/market/quotes", openapi_extra=_PUSH_BODY)
async def push_quotes(request: Request, runtime: Runtime, caller: Trader) -> dict[str, Any]:
    """外部行情推送 (external pushers): a batch of quotes; each is validated on its own.

    Answers how many were accepted and, for each refused one, its index, code and reason.
    """
    try:
        body = parse_json(await request.body())
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, JsonTooDeep
        raise ServiceError(
            f"请求体不是有效的 JSON，或嵌套超过 {jsontext.MAX_DEPTH} 层",
            f"the request body is not valid JSON: {str(exc)[:200]}",
            code="malformed_json",
        ) from exc
    items = _push_items(body)
    if isinstance(items, str):
        raise InvalidRequest(*_PUSH_SHAPE_ERRORS[items], code=items)
    return runtime.market.push(items, f"push:{caller.name}")


@router.websocket("/market/ws")
async def push_socket(websocket: WebSocket) -> None:
    """外部行情推送 (external pushers) over a WebSocket: one batch per message, one ack each."""
    runtime: CloudRuntime = websocket.app.state.runtime
    name = await _accept(websocket, runtime, Role.TRADER)
    if name is None:
        return
    source = f"push:{name}"
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            text = await _receive_text(websocket)
            if text is None:
                return
            try:
                body = parse_json(text)
            except ValueError:  # not JSON, or nested too deep: the socket stays open
                await _send_error(websocket, None, "invalid_json", *_NOT_JSON)
                continue
            message_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(message_id, str | int) or isinstance(message_id, bool):
                message_id = None
            items = _push_items(body)
            if isinstance(items, str):
                await _send_error(websocket, message_id, items, *_PUSH_SHAPE_ERRORS[items])
                continue
            ack = {"type": "ack", "id": message_id, **runtime.market.push(items, source)}
            await websocket.send_text(json.dumps(ack, ensure_ascii=False))


_NOT_JSON = (
    f"消息不是有效的 JSON，或嵌套超过 {jsontext.MAX_DEPTH} 层",
    f"not JSON, or nested deeper than {jsontext.MAX_DEPTH} levels",
)

_PUSH_SHAPE_ERRORS = {
    "invalid_shape": (
        '请求体应为 {"quotes": [...]}（或行情数组）',
        'the body must be {"quotes": [...]} (or an array of quotes)',
    ),
    "too_many_quotes": (
        f"一次最多推送 {MAX_PUSH} 条行情",
        f"at most {MAX_PUSH} quotes per request or message",
    ),
}


def _push_items(body: Any) -> list[Any] | str:
    items = body.get("quotes") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return "invalid_shape"
    if len(items) > MAX_PUSH:
        return "too_many_quotes"
    return items


# -- the dashboard stream -------------------------------------------------------------


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    """行情推送给控制台 (quotes for dashboards): subscribe to codes, get their quotes
    coalesced to at most one push per code every 200 ms.

    Client messages: ``{"op": "subscribe", "codes": ["sh600519", ...]}`` (``"*"`` for
    every code) and ``{"op": "unsubscribe", "codes": [...]}``; each is answered with
    ``{"type": "subscribed", "codes": [...], "all": false}``. Pushes are
    ``{"type": "quotes", "quotes": [...]}``.
    """
    runtime: CloudRuntime = websocket.app.state.runtime
    if await _accept(websocket, runtime, Role.VIEWER) is None:
        return
    lock = asyncio.Lock()

    async def send(text: str) -> None:
        async with lock:
            await websocket.send_text(text)

    hub = runtime.stream
    client = StreamClient(send)
    hub.add(client)
    pump = asyncio.create_task(client.pump(hub.interval, SEND_TIMEOUT), name="stream-pump")
    receiver = asyncio.create_task(_stream_commands(websocket, hub, client, send), name="stream-in")
    try:
        done, _ = await asyncio.wait({pump, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if pump in done and not pump.cancelled() and pump.exception() is None:
            # The client did not take a push within SEND_TIMEOUT: drop it.
            with contextlib.suppress(Exception):
                await websocket.close(code=1008, reason="too slow")
    finally:
        hub.remove(client)
        for task in (pump, receiver):
            task.cancel()
        await asyncio.gather(pump, receiver, return_exceptions=True)


async def _stream_commands(
    websocket: WebSocket,
    hub: QuoteStream,
    client: StreamClient,
    send: Callable[[str], Awaitable[None]],
) -> None:
    while True:
        text = await _receive_text(websocket)
        if text is None:
            return
        try:
            body = jsontext.loads(text)
        except ValueError:
            await send(_error_text(None, "invalid_json", *_NOT_JSON))
            continue
        op = body.get("op") if isinstance(body, dict) else None
        raw_codes = body.get("codes", []) if isinstance(body, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(raw_codes, list):
            await send(
                _error_text(
                    None,
                    "unknown_op",
                    '消息应为 {"op": "subscribe"|"unsubscribe", "codes": [...]}',
                    'expected {"op": "subscribe"|"unsubscribe", "codes": [...]}',
                )
            )
            continue
        everything = ALL in raw_codes
        try:
            codes = _codes([c for c in raw_codes if c != ALL])
        except InvalidRequest as exc:
            await send(_error_text(None, exc.code, exc.message_zh, exc.message_en))
            continue
        if op == "subscribe":
            if len(client.codes | codes) > MAX_CODES:
                await send(
                    _error_text(
                        None,
                        "too_many_codes",
                        f'最多订阅 {MAX_CODES} 个代码（全部请用 "*"）',
                        f'at most {MAX_CODES} codes (use "*" for all)',
                    )
                )
                continue
            hub.subscribe(client, codes, everything=everything)
        else:
            hub.unsubscribe(client, codes, everything=everything)
        answer = {"type": "subscribed", "codes": sorted(client.codes), "all": client.everything}
        await send(json.dumps(answer))


# -- helpers --------------------------------------------------------------------------


def _full_code(code: str) -> str:
    try:
        return parse_symbol(code).full
    except DomainError as exc:
        raise InvalidRequest(exc.message_zh, exc.message_en, code=exc.code) from exc


def _codes(texts: list[Any]) -> set[str]:
    """Full codes of ``texts``; 422 naming every bad one."""
    good: set[str] = set()
    bad: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            bad.append(repr(text))
            continue
        if not text.strip():
            continue
        try:
            good.add(parse_symbol(text).full)
        except DomainError:
            bad.append(text)
    if bad:
        shown = ", ".join(bad[:10])
        raise InvalidRequest(
            f"无效的证券代码：{shown}", f"invalid security codes: {shown}", code="invalid_code"
        )
    return good


def _moment(text: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    """A query time: a date (its start, or its end for ``end``) or a datetime; naive
    values are Beijing time."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        day = date.fromisoformat(value) if len(value) <= 10 else None
        parsed = datetime.fromisoformat(value) if day is None else datetime.combine(day, time(0))
    except ValueError as exc:
        raise InvalidRequest(
            f"{name} 不是 ISO 8601 日期或时间：{value[:40]}",
            f"{name} is not an ISO 8601 date or time: {value[:40]}",
            code="invalid_range",
        ) from exc
    if not time_in_range(parsed):
        raise InvalidRequest(
            f"{name} 须在 {FIRST_YEAR} 年到 {LAST_YEAR} 年之间：{value[:40]}",
            f"{name} must fall between the years {FIRST_YEAR} and {LAST_YEAR}: {value[:40]}",
            code="invalid_range",
        )
    if day is not None:
        moment = datetime.combine(day, time(0), BEIJING)
        return moment + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else moment
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(trim(value))


def _bar_public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["symbol"],
        "freq": row["freq"],
        "end": row["end"].astimezone(BEIJING).isoformat(),
        "open": _money(row["open"]),
        "high": _money(row["high"]),
        "low": _money(row["low"]),
        "close": _money(row["close"]),
        "volume": row["volume"],
        "amount": _money(row["amount"]),
    }


def _stored_quote(row: dict[str, Any], name: str) -> dict[str, Any]:
    last, previous = row["last"], row["previous_close"]
    change = (last - previous) / previous * 100 if previous else Decimal(0)
    return {
        "code": row["symbol"],
        "name": name,
        "ts": row["ts"].astimezone(BEIJING).isoformat(),
        "last": _money(last),
        "previous_close": _money(previous),
        "change_pct": str(change.quantize(Decimal("0.01"))),
        "open": _money(row["open"]),
        "high": _money(row["high"]),
        "low": _money(row["low"]),
        "volume": row["volume"],
        "amount": _money(row["amount"]),
        "bids": row["bids"],
        "asks": row["asks"],
        "limit_up": None,
        "limit_down": None,
    }


async def _accept(websocket: WebSocket, runtime: CloudRuntime, needed: Role) -> str | None:
    """Accept the socket and check its caller: an API key (``?api_key=``, ``X-API-Key`` or
    ``Authorization: Bearer``) or a dashboard session (bearer or the session cookie). No or
    bad credentials close it with 4401, a role below ``needed`` with 4403. Returns the
    caller's name."""
    principal, refusal = await websocket_principal(websocket, runtime, needed)
    # Accept before closing: a close before the handshake is a bare HTTP 403.
    await websocket.accept()
    if principal is None:
        reason = "forbidden" if refusal == CLOSE_FORBIDDEN else "invalid credentials"
        await websocket.close(code=refusal, reason=reason)
        return None
    return principal.name


async def _receive_text(websocket: WebSocket) -> str | None:
    """The next text (or UTF-8 binary) message; None when the client has gone."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("text") is not None:
            return str(message["text"])
        if message.get("bytes") is not None:
            try:
                return bytes(message["bytes"]).decode("utf-8")
            except UnicodeDecodeError:
                return ""


def _error_text(message_id: Any, code: str, message: str, message_en: str) -> str:
    body = {"type": "error", "id": message_id, "code": code, "message": message}
    body["message_en"] = message_en
    return json.dumps(body, ensure_ascii=False)


async def _send_error(
    websocket: WebSocket, message_id: Any, code: str, message: str, message_en: str
) -> None:
    await websocket.send_text(_error_text(message_id, code, message, message_en))
