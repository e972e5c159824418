"""Fee schedule defaults from REFERENCE.md."""

from datetime import date
from decimal import Decimal

from aigupiao.brokers.paper import FeeSchedule
from aigupiao.domain.orders import Fees, Side
from aigupiao.domain.symbols import parse_symbol

from .helpers import DAY, PINGAN


def test_fee_schedule_by_date() -> None:
    fees = FeeSchedule()
    amount = Decimal("100000")
    assert fees.fees(PINGAN, Side.SELL, amount, date(2023, 8, 28)) == Fees(
        Decimal("25.00"), Decimal("50.00"), Decimal("1.00")
    )
    assert fees.fees(PINGAN, Side.SELL, amount, date(2023, 8, 25)) == Fees(
        Decimal("25.00"), Decimal("100.00"), Decimal("1.00")
    )
    assert fees.fees(PINGAN, Side.BUY, amount, date(2022, 4, 28)) == Fees(
        Decimal("25.00"), Decimal("0"), Decimal("2.00")
    )
    etf = parse_symbol("sh510300")
    assert fees.fees(etf, Side.SELL, amount, DAY).stamp_duty == 0
    assert fees.fees(PINGAN, Side.BUY, Decimal("0"), DAY).total == 0
    # half up to the cent: 30002 x 0.025% = 7.5005 -> 7.50, 30020 x 0.025% = 7.505 -> 7.51
    assert fees.fees(PINGAN, Side.BUY, Decimal("30002"), DAY).commission == Decimal("7.50")
    assert fees.fees(PINGAN, Side.BUY, Decimal("30006"), DAY).commission == Decimal("7.50")
    assert fees.fees(PINGAN, Side.BUY, Decimal("30010"), DAY).commission == Decimal("7.50")
    assert fees.fees(PINGAN, Side.BUY, Decimal("30020"), DAY).commission == Decimal("7.51")
