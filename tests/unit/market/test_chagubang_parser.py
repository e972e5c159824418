"""The chagubang wire format: frames, the inbox, and records parsed field by field."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime
from decimal import Decimal

import pytest

from aigupiao.bench.chagubang import Tape, encode_bse, encode_record
from aigupiao.domain.market import Level, Quote
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Board, Exchange, parse_symbol
from aigupiao.market.feeds.chagubang_wire import (
    AUTH_FAILED_TEXT,
    MAX_FRAME,
    AuthRejected,
    BadRecord,
    FrameDecoder,
    Inbox,
    ProtocolError,
    RecordParser,
    frame,
    is_auth_rejection,
    make_level,
    make_quote,
)

D = Decimal
TS = 1772417703  # 2026-03-02 10:15:03 Beijing time
AT = datetime(2026, 3, 2, 10, 15, 3, tzinfo=BEIJING)

# 0 code, 1 name, 2 time, 3 open, 4 high, 5 low, 6 last, 7 volume (lots), 8 amount,
# 9-13 ask prices, 14-18 ask volumes (lots), 19-23 bid prices, 24-28 bid volumes (lots),
# 29 turnover rate, 30 previous close, 31 limit up, 32 limit down.
MOUTAI = (
    f"SH600519$贵州茅台${TS}$1481.00$1490.50$1479.99$1488.00$12345$1834567890.12"
    "$1488.00$1488.01$1488.50$1489.00$1490.00$2$5$11$3$40"
    "$1487.99$1487.50$1487.00$1486.66$1486.00$3$1$7$20$9"
    "$0.10$1480.00$1628.00$1332.00"
)


def fields(record: str) -> list[str]:
    return record.split("$")


def edit(record: str, **changes: str) -> bytes:
    """``record`` with fields replaced by index (``f6="abc"``)."""
    parts = fields(record)
    for name, value in changes.items():
        parts[int(name[1:])] = value
    return "$".join(parts).encode()


@pytest.fixture(params=[True, False], ids=["accelerated", "pure"])
def parser(request: pytest.FixtureRequest) -> RecordParser:
    """The parser as the feed builds it (compiled happy path if built), and pure Python."""
    return RecordParser(accelerated=request.param)


# -- SH/SZ records -------------------------------------------------------------------------


def test_every_field_of_a_stock_record(parser: RecordParser) -> None:
    quote = parser.parse(MOUTAI.encode())
    assert quote.symbol == parse_symbol("sh600519") and quote.symbol.board is Board.SH_MAIN
    assert quote.name == "贵州茅台"
    assert quote.ts == AT and quote.ts.utcoffset() == AT.utcoffset()
    assert (quote.open, quote.high, quote.low, quote.last) == (
        D("1481.00"), D("1490.50"), D("1479.99"), D("1488.00"),
    )  # fmt: skip
    assert quote.volume == 1_234_500  # lots -> shares
    assert quote.amount == D("1834567890.12")
    assert quote.asks == (
        Level(D("1488.00"), 200), Level(D("1488.01"), 500), Level(D("1488.50"), 1100),
        Level(D("1489.00"), 300), Level(D("1490.00"), 4000),
    )  # fmt: skip
    assert quote.bids == (
        Level(D("1487.99"), 300), Level(D("1487.50"), 100), Level(D("1487.00"), 700),
        Level(D("1486.66"), 2000), Level(D("1486.00"), 900),
    )  # fmt: skip
    assert quote.previous_close == D("1480.00")
    assert (quote.limit_up, quote.limit_down) == (D("1628.00"), D("1332.00"))
    for value in (quote.last, quote.amount, quote.asks[0].price, quote.limit_up):
        assert type(value) is Decimal


def test_the_fast_constructors_make_what_the_real_ones_make(parser: RecordParser) -> None:
    quote = parser.parse(MOUTAI.encode())
    assert dataclasses.replace(quote) == quote
    values = [getattr(quote, field.name) for field in dataclasses.fields(Quote)]
    assert make_quote(*values) == Quote(*values)
    assert make_level(D("9.99"), 300) == Level(D("9.99"), 300)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quote.last = D(1)  # type: ignore[misc]


def test_a_sealed_limit_up_has_no_asks_and_a_new_listing_no_limits(parser: RecordParser) -> None:
    sealed = edit(MOUTAI, **{f"f{i}": "0.00" for i in range(9, 14)},
                  **{f"f{i}": "0" for i in range(14, 19)})  # fmt: skip
    assert parser.parse(sealed).asks == ()
    blank = edit(MOUTAI, **{f"f{i}": "" for i in range(9, 19)}, f31="0", f32="0.000")
    quote = parser.parse(blank)
    assert quote.asks == () and len(quote.bids) == 5
    assert quote.limit_up is None and quote.limit_down is None


def test_a_level_with_a_price_and_no_volume_is_empty(parser: RecordParser) -> None:
    quote = parser.parse(edit(MOUTAI, f24="0", f28="0"))
    assert [level.price for level in quote.bids] == [D("1487.50"), D("1487.00"), D("1486.66")]


def test_volumes_written_as_decimals_are_read_when_whole(parser: RecordParser) -> None:
    quote = parser.parse(edit(MOUTAI, f7="12345.0", f14="2.00"))
    assert quote.volume == 1_234_500 and quote.asks[0].volume == 200
    with pytest.raises(BadRecord) as info:
        parser.parse(edit(MOUTAI, f7="12345.5"))
    assert info.value.reason == "not_a_number"


def test_a_record_before_the_first_trade_keeps_its_zeros(parser: RecordParser) -> None:
    quote = parser.parse(edit(MOUTAI, f3="0.00", f4="0.00", f5="0.00", f6="0.00", f7="0", f8="0"))
    assert (quote.last, quote.open, quote.volume, quote.amount) == (D(0), D(0), 0, D(0))
    assert quote.previous_close == D("1480.00")


@pytest.mark.parametrize(
    ("code", "board", "full"),
    [
        ("SH000001", Board.INDEX, "sh000001"),
        ("SH000300", Board.INDEX, "sh000300"),
        ("SZ399001", Board.INDEX, "sz399001"),
        ("SZ000001", Board.SZ_MAIN, "sz000001"),  # the prefix decides: a bank, not an index
        ("SZ300750", Board.CHINEXT, "sz300750"),
        ("SH688981", Board.STAR, "sh688981"),
        ("SH510300", Board.FUND, "sh510300"),
    ],
)
def test_codes_and_boards(parser: RecordParser, code: str, board: Board, full: str) -> None:
    quote = parser.parse(edit(MOUTAI, f0=code))
    assert quote.symbol.board is board and quote.symbol.full == full


def test_an_index_record(parser: RecordParser) -> None:
    record = (
        f"SH000001$上证指数${TS}$3340.12$3351.00$3329.87$3346.80$412345678$512345678901.50"
        + "$0.00" * 5 + "$0" * 5 + "$0.00" * 5 + "$0" * 5
        + "$0.00$3338.51$0.00$0.00"
    )  # fmt: skip
    quote = parser.parse(record.encode())
    assert quote.symbol.board is Board.INDEX and quote.name == "上证指数"
    assert quote.last == D("3346.80") and quote.previous_close == D("3338.51")
    assert quote.volume == 41_234_567_800 and quote.amount == D("512345678901.50")
    assert quote.bids == () and quote.asks == ()
    assert quote.limit_up is None and quote.limit_down is None


def test_levels_are_reused_only_when_their_fields_are_unchanged(parser: RecordParser) -> None:
    first = parser.parse(MOUTAI.encode())
    moved = edit(MOUTAI, f9="1488.02", f14="7", f24="4", f19="0.00")
    second = parser.parse(moved)
    assert second == RecordParser().parse(moved)  # as if parsed from scratch
    assert second.asks[1] is first.asks[1]  # unchanged level: the same object
    assert second.asks[0] == Level(D("1488.02"), 700)
    assert second.bids[0] == Level(D("1487.50"), 100)  # bid1 emptied
    other = parser.parse(edit(MOUTAI, f0="SZ000001", f1="平安银行"))
    assert other.symbol.full == "sz000001" and other.asks == first.asks  # per code, not shared


def test_the_tape_round_trips_through_the_parser() -> None:
    tape = Tape(30, bse=3, indexes=3, seed=5)
    parser = RecordParser()
    for _ in range(4):
        for expected, payload in tape.next_round():
            assert parser.parse(payload) == expected


# -- malformed SH/SZ records ------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (MOUTAI.rsplit("$", 1)[0].encode(), "field_count"),
        ((MOUTAI + "$1").encode(), "field_count"),
        (b"", "field_count"),
        (b"hello", "field_count"),
        (b"[1, 2, 3]", "field_count"),  # JSON, but not a record
        (edit(MOUTAI, f6="abc"), "not_a_number"),
        (edit(MOUTAI, f6="NaN"), "not_a_number"),
        (edit(MOUTAI, f6="-1.00"), "not_a_number"),
        (edit(MOUTAI, f6="1e8"), "not_a_number"),
        (edit(MOUTAI, f30="Infinity"), "not_a_number"),
        (edit(MOUTAI, f8="1e999999999"), "not_a_number"),
        (edit(MOUTAI, f8="-5"), "not_a_number"),
        (edit(MOUTAI, f7="many"), "not_a_number"),
        (edit(MOUTAI, f7="-100"), "not_a_number"),
        (edit(MOUTAI, f14="x"), "not_a_number"),
        (edit(MOUTAI, f9="１４８８"), "not_a_number"),  # full-width digits
        (edit(MOUTAI, f0="SH900901"), "unknown_code"),  # B shares are not in our boards
        (edit(MOUTAI, f0="XX600519"), "unknown_code"),
        (edit(MOUTAI, f0="SH60051"), "unknown_code"),
        (edit(MOUTAI, f0=""), "unknown_code"),
        (edit(MOUTAI, f2="yesterday"), "bad_time"),
        (edit(MOUTAI, f2="0"), "bad_time"),
        (edit(MOUTAI, f2=str(TS * 1000)), "bad_time"),  # milliseconds are not seconds
        (MOUTAI.encode().replace("贵州茅台".encode(), b"\xff\xfe"), "not_utf8"),
    ],
)
def test_malformed_records_are_refused_with_their_reason(
    parser: RecordParser, payload: bytes, reason: str
) -> None:
    with pytest.raises(BadRecord) as info:
        parser.parse(payload)
    assert info.value.reason == reason


def test_a_refused_record_leaves_the_parser_as_it_was(parser: RecordParser) -> None:
    with pytest.raises(BadRecord):
        parser.parse(edit(MOUTAI, f12="bad"))
    assert parser.parse(MOUTAI.encode()) == RecordParser().parse(MOUTAI.encode())


# -- BSE records --------------------------------------------------------------------------

BSE = {
    "stock_code": "920001",
    "time": TS * 1000 + 250,
    "lastPrice": 18.13,
    "open": 18.15,
    "high": 18.2,
    "low": 17.9,
    "lastClose": 17.93,
    "volume": 486776,
    "amount": 8815026.5,
    "askPrice": [18.14, 18.15, 18.16, 0, 0],
    "bidPrice": [18.13, 18.12, 18.1, 18.05, 18.0],
    "askVol": [1200, 300, 5, 0, 0],
    "bidVol": [100, 2500, 700, 1, 42],
}


def bse(**changes: object) -> bytes:
    return json.dumps({**BSE, **changes}).encode()


def test_every_field_of_a_bse_record(parser: RecordParser) -> None:
    quote = parser.parse(bse())
    assert quote.symbol.full == "bj920001" and quote.symbol.board is Board.BSE
    assert quote.ts == AT.replace(microsecond=250_000)
    assert (quote.last, quote.open, quote.high, quote.low) == (
        D("18.13"), D("18.15"), D("18.2"), D("17.9"),
    )  # fmt: skip
    assert quote.previous_close == D("17.93")
    assert quote.volume == 486_776  # shares, as the BSE counts them
    assert quote.amount == D("8815026.5")
    assert quote.asks == (Level(D("18.14"), 1200), Level(D("18.15"), 300), Level(D("18.16"), 5))
    assert quote.bids[0] == Level(D("18.13"), 100) and len(quote.bids) == 5
    assert quote.limit_up is None and quote.limit_down is None
    assert quote.name == ""
    for value in (quote.last, quote.amount, quote.bids[-1].price):
        assert type(value) is Decimal


def test_bse_float_noise_is_rounded_and_names_codes_units_are_read(parser: RecordParser) -> None:
    noisy = bse(lastPrice=18.130000114440918, stock_code="BJ920001", stock_name="纬达光电")
    quote = parser.parse(noisy)
    assert quote.last == D("18.130") and quote.name == "纬达光电"
    assert parser.parse(bse(stock_code=920001)).symbol.full == "bj920001"
    assert parser.parse(bse(stock_code="430047")).symbol.exchange is Exchange.BJ
    assert parser.parse(bse(lastPrice=18)).last == D(18)
    assert parser.parse(bse(volume=486776.0)).volume == 486_776
    lots = RecordParser(bse_volume_unit=100).parse(bse())
    assert lots.volume == 48_677_600 and lots.asks[0].volume == 120_000


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"stock_code": "920001", "time": ', "bad_json"),
        (b'{"stock_code": "920001", "time": 1} trailing', "bad_json"),
        (b"{\xff}", "bad_json"),
        (bse(stock_code="999999"), "unknown_code"),
        (bse(stock_code=None), "unknown_code"),
        (bse(time="now"), "bad_time"),
        (bse(time=TS), "bad_time"),  # seconds where milliseconds belong
        (bse(lastPrice="18.13"), "not_a_number"),
        (bse(lastPrice=True), "not_a_number"),
        (bse(lastPrice=-1.5), "not_a_number"),
        (bse(volume=1.5), "not_a_number"),
        (bse(askPrice=[18.14]), "not_a_number"),
        (bse(bidVol="many"), "not_a_number"),
        (json.dumps({k: v for k, v in BSE.items() if k != "lastPrice"}).encode(), "missing_field"),
    ],
)
def test_malformed_bse_records(parser: RecordParser, payload: bytes, reason: str) -> None:
    with pytest.raises(BadRecord) as info:
        parser.parse(payload)
    assert info.value.reason == reason


def test_encoders_write_what_the_parser_reads() -> None:
    quote = RecordParser().parse(MOUTAI.encode())
    assert RecordParser().parse(encode_record(quote)) == quote
    bse_quote = RecordParser().parse(bse())
    assert RecordParser().parse(encode_bse(bse_quote)) == bse_quote


# -- frames -------------------------------------------------------------------------------


def test_frames_split_at_every_byte_and_merged() -> None:
    payloads = [MOUTAI.encode(), bse(), "SZ399001$深证成指".encode(), b"x"]
    stream = b"".join(frame(payload) for payload in payloads)
    for cut in range(len(stream) + 1):
        decoder = FrameDecoder()
        assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == payloads
        assert decoder.buffered == b""
    decoder, got = FrameDecoder(), []
    for byte in stream:  # one byte per read
        got += decoder.feed(bytes([byte]))
    assert got == payloads


def test_random_chunking_never_loses_or_corrupts_a_frame() -> None:
    rng = random.Random(3)
    payloads = [rng.randbytes(rng.randint(1, 900)) for _ in range(500)]
    stream = b"".join(frame(payload) for payload in payloads)
    decoder, got, at = FrameDecoder(), [], 0
    while at < len(stream):
        size = rng.choice([1, 2, 3, 5, 64, 700, 4096, 20_000])
        got += decoder.feed(stream[at : at + size])
        at += size
    assert got == payloads


def test_a_large_frame_in_small_pieces() -> None:
    payload = bytes(range(256)) * 4000  # ~1 MB, below the limit
    stream = frame(payload)
    decoder = FrameDecoder()
    got = [
        frame
        for at in range(0, len(stream), 1000)
        for frame in decoder.feed(stream[at : at + 1000])
    ]
    assert got == [payload]


@pytest.mark.parametrize("size", [0, MAX_FRAME + 1, 0xFFFFFFFF])
def test_a_zero_or_absurd_length_is_a_protocol_error(size: int) -> None:
    decoder = FrameDecoder()
    good = frame(b"ok")
    with pytest.raises(ProtocolError):
        decoder.feed(good + size.to_bytes(4, "little") + b"rest")
    assert decoder.buffered.startswith(size.to_bytes(4, "little"))


def test_the_token_rejection_unframed_reads_as_an_absurd_length() -> None:
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError):
        decoder.feed(AUTH_FAILED_TEXT.encode())
    assert is_auth_rejection(decoder.buffered)
    assert is_auth_rejection("Token鉴权失败".encode("gbk"))
    assert not is_auth_rejection(MOUTAI.encode())


# -- the inbox ----------------------------------------------------------------------------


def test_the_inbox_keeps_the_newest_record_per_code_oldest_code_first() -> None:
    inbox = Inbox()
    first, newer = edit(MOUTAI, f6="1.00"), edit(MOUTAI, f6="2.00")
    bank = edit(MOUTAI, f0="SZ000001")
    inbox.put([first, bank, newer, bse(), bse(lastPrice=1.5)])
    assert inbox.superseded == 2 and len(inbox) == 3
    assert inbox.take(2) == [newer, bank]
    assert inbox.take(10) == [bse(lastPrice=1.5)]
    assert len(inbox) == 0 and inbox.take(5) == []


def test_unusual_payloads_are_kept_one_each() -> None:
    inbox = Inbox()
    inbox.put([b"garbage", b"garbage!", b"{not json", b"SH6$x"])
    assert len(inbox) == 4 and inbox.superseded == 0


def test_a_framed_token_rejection_raises_in_the_inbox() -> None:
    with pytest.raises(AuthRejected):
        Inbox().put([MOUTAI.encode(), AUTH_FAILED_TEXT.encode()])
