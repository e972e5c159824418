"""Open orders in the gate (issue 13, item 11): resting and in-flight buys count toward the
position cap, the number of positions and cash; open sells toward what can still be sold.
A reported order (``frozen``) is already out of the snapshot's cash and shares: not twice."""

from __future__ import annotations

from decimal import Decimal

from aigupiao.domain.account import Account, Position
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.symbols import Symbol, parse_symbol
from aigupiao.risk import OpenOrders, PendingOrder, RiskGate, RiskLimits, RiskVerdict

from .test_gate import NOW, PINGAN, assert_rejected, quote

TEN = Decimal("10.00")
RESTING = Decimal("9.50")  # below the bid: the buy rests


def pingan(last: str = "10.00") -> Quote:
    return quote(PINGAN, last, limit_up="11.00", limit_down="9.00")


def cash_account(cash: str = "1000000", *positions: Position) -> Account:
    return Account("paper-1", cash=Decimal(cash), positions=positions)


def held(symbol: Symbol, total: int = 100, available: int | None = None) -> Position:
    return Position(
        symbol,
        total=total,
        available=total if available is None else available,
        cost_price=TEN,
        last_price=TEN,
    )


def judge(
    gate: RiskGate,
    pending: OpenOrders,
    *,
    side: Side = Side.BUY,
    quantity: int,
    price: Decimal | None = RESTING,
    account: Account | None = None,
    quotes: dict[str, Quote] | None = None,
    symbol: Symbol = PINGAN,
    client_order_id: str | None = None,
) -> RiskVerdict:
    seen = quotes or {"sz000001": pingan()}
    return gate.check(
        side=side,
        quantity=quantity,
        price=price,
        quote=seen.get(symbol.full),
        account=account or cash_account(),
        now=NOW,
        quotes=seen,
        client_order_id=client_order_id,
        pending=pending,
    )


def test_five_resting_buys_of_nine_percent_do_not_make_forty_five() -> None:
    # 9,400 x 9.50 = 89,300: 8.9% of 1,000,000 each, under the 10% cap one at a time.
    gate, pending = RiskGate(RiskLimits()), OpenOrders()
    verdicts = [judge(gate, pending, quantity=9400, client_order_id=f"rest-{n}") for n in range(5)]
    assert [v.accepted for v in verdicts] == [True, False, False, False, False]
    refused = verdicts[1]
    assert_rejected(refused, "max_position_size")
    assert refused.values["open_buy_value"] == "89300.00"
    assert refused.values["position_value"] == "178600.00"
    assert "not filled yet" in (refused.message or "")
    assert len(pending) == 1  # only the accepted one counts on


def test_reported_resting_buys_count_toward_the_cap_and_not_twice_toward_cash() -> None:
    # The broker took the first buy and froze its cash: the snapshot's cash is less by it.
    pending = OpenOrders(
        [PendingOrder("sz000001", Side.BUY, 9400, RESTING, frozen=True, source="order:1")]
    )
    account = Account("paper-1", cash=Decimal("910600"), frozen_cash=Decimal("89400"))
    gate = RiskGate(RiskLimits())
    again = judge(gate, pending, quantity=9400, account=account)
    assert_rejected(again, "max_position_size")
    assert again.values["open_buy_value"] == "89300.00"
    # Another symbol, with all the cash it needs: the frozen cash is not taken twice.
    cmb = parse_symbol("sh600036")
    quotes = {
        "sz000001": pingan(),
        cmb.full: quote(cmb, "10.00", limit_up="11.00", limit_down="9.00"),
    }
    tight = Account("paper-1", cash=Decimal("9100"), frozen_cash=Decimal("89400"))
    other = judge(gate, pending, quantity=900, price=TEN, account=tight, quotes=quotes, symbol=cmb)
    assert other.accepted, other.message


def test_buys_of_new_symbols_count_toward_max_positions() -> None:
    codes = [f"sz00000{n}" for n in range(1, 10)]  # nine holdings
    holdings = [held(parse_symbol(code)) for code in codes]
    new = [parse_symbol(code) for code in ("sh600000", "sh600036", "sh601318")]
    quotes = {s.full: quote(s, "10.00", limit_up="11.00", limit_down="9.00") for s in new}
    gate, pending = RiskGate(RiskLimits(max_positions=10)), OpenOrders()
    account = cash_account("1000000", *holdings)
    verdicts = [
        judge(gate, pending, quantity=100, price=TEN, account=account, quotes=quotes, symbol=s)
        for s in new
    ]
    assert [v.accepted for v in verdicts] == [True, False, False]
    assert_rejected(verdicts[1], "max_positions")
    assert verdicts[1].values["positions"] == 10
    assert verdicts[1].values["open_buy_symbols"] == 1
    # More of the symbol already being bought is not a new position.
    more = judge(
        gate, pending, quantity=200, price=TEN, account=account, quotes=quotes, symbol=new[0]
    )
    assert more.accepted, more.message


def test_buys_on_their_way_take_cash_the_snapshot_still_shows() -> None:
    in_flight = PendingOrder("sz000001", Side.BUY, 9000, TEN, source="command:c1")
    gate = RiskGate(RiskLimits(max_position_size=Decimal(1)))
    refused = judge(
        gate, OpenOrders([in_flight]), quantity=2000, price=TEN, account=cash_account("100000")
    )
    assert_rejected(refused, "cash")
    assert refused.values["open_buy_cash"] == "90090.00"  # 90,000 with the cost margin
    assert "not filled yet" in (refused.message or "")
    # The same order once reported: the snapshot's cash already excludes it.
    reported = PendingOrder("sz000001", Side.BUY, 9000, TEN, frozen=True, source="order:1")
    frozen = Account("paper-1", cash=Decimal("10000"), frozen_cash=Decimal("90090"))
    accepted = judge(gate, OpenOrders([reported]), quantity=900, price=TEN, account=frozen)
    assert accepted.accepted, accepted.message


def test_a_market_buy_on_its_way_holds_cash_at_limit_up() -> None:
    in_flight = PendingOrder("sz000001", Side.BUY, 1000, None, source="command:c1")
    gate = RiskGate(RiskLimits(max_position_size=Decimal(1)))
    refused = judge(
        gate, OpenOrders([in_flight]), quantity=100, price=TEN, account=cash_account("11500")
    )
    assert_rejected(refused, "cash")
    assert refused.values["open_buy_cash"] == "11011.00"  # 1,000 x 11.00 limit up, + 0.1%


def test_sells_on_their_way_hold_shares() -> None:
    account = cash_account("0", held(PINGAN, 1000))
    gate = RiskGate(RiskLimits(duplicate_window=0))
    pending = OpenOrders([PendingOrder("sz000001", Side.SELL, 600, None, source="command:c1")])
    refused = judge(gate, pending, side=Side.SELL, quantity=500, price=TEN, account=account)
    assert_rejected(refused, "available")
    assert refused.values["available"] == 400 and refused.values["open_sell_quantity"] == 600
    assert "not filled yet" in (refused.message or "")
    assert judge(gate, pending, side=Side.SELL, quantity=400, price=TEN, account=account).accepted
    last = judge(gate, pending, side=Side.SELL, quantity=100, price=TEN, account=account)
    assert_rejected(last, "available")  # the accepted 400 hold the rest
    assert last.values["available"] == 0


def test_a_reported_sell_is_not_taken_twice() -> None:
    # The broker froze the 600 shares: the snapshot shows 400 available.
    account = cash_account("0", held(PINGAN, 1000, available=400))
    reported = PendingOrder("sz000001", Side.SELL, 600, TEN, frozen=True, source="order:1")
    gate = RiskGate(RiskLimits())
    verdict = judge(
        gate, OpenOrders([reported]), side=Side.SELL, quantity=400, price=TEN, account=account
    )
    assert verdict.accepted, verdict.message


def test_exits_leave_shares_that_open_sells_hold() -> None:
    # Cost 10.00, price 9.00: past the 8% stop-loss.
    account = cash_account("0", Position(PINGAN, 1000, 1000, TEN, Decimal("9.00")))
    quotes = {"sz000001": pingan("9.00")}
    exiting = OpenOrders([PendingOrder("sz000001", Side.SELL, 1000, None, source="command:c1")])
    assert RiskGate(RiskLimits()).exits("paper-1", account, quotes, NOW, exiting) == []
    part = OpenOrders([PendingOrder("sz000001", Side.SELL, 300, None, source="command:c1")])
    (signal,) = RiskGate(RiskLimits()).exits("paper-1", account, quotes, NOW, part)
    assert signal.quantity == 700
