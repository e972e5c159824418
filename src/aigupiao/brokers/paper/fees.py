"""Trading costs of an A-share fill (REFERENCE.md, "Costs").

Defaults: commission 0.025% with a 5.00 CNY minimum per order (both sides),
stamp duty 0.05% on sells (0.1% before 2023-08-28), transfer fee 0.001% on both
sides (0.002% before 2022-04-29). Stamp duty and transfer fee are charged on stocks
only: funds (ETFs, LOFs) pay neither. Each item is rounded to the cent, half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from aigupiao.domain.money import ZERO, cny
from aigupiao.domain.orders import Fees, Side
from aigupiao.domain.symbols import Board, Symbol


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    commission_rate: Decimal = Decimal("0.00025")
    commission_minimum: Decimal = Decimal("5.00")
    stamp_duty_rate: Decimal = Decimal("0.0005")
    stamp_duty_rate_before: Decimal = Decimal("0.001")
    stamp_duty_cut: date = date(2023, 8, 28)
    transfer_fee_rate: Decimal = Decimal("0.00001")
    transfer_fee_rate_before: Decimal = Decimal("0.00002")
    transfer_fee_cut: date = date(2022, 4, 29)

    def fees(self, symbol: Symbol, side: Side, amount: Decimal, trading_date: date) -> Fees:
        """The costs of trading ``amount`` CNY of ``symbol`` in one order on ``trading_date``."""
        if amount <= 0:
            return Fees(ZERO, ZERO, ZERO)
        commission = max(cny(amount * self.commission_rate), self.commission_minimum)
        if symbol.board is Board.FUND:
            return Fees(commission, ZERO, ZERO)
        stamp_duty = ZERO
        if side is Side.SELL:
            rate = (
                self.stamp_duty_rate
                if trading_date >= self.stamp_duty_cut
                else self.stamp_duty_rate_before
            )
            stamp_duty = cny(amount * rate)
        transfer_rate = (
            self.transfer_fee_rate
            if trading_date >= self.transfer_fee_cut
            else self.transfer_fee_rate_before
        )
        return Fees(commission, stamp_duty, cny(amount * transfer_rate))

    def fill_fees(
        self,
        symbol: Symbol,
        side: Side,
        amount_before: Decimal,
        amount: Decimal,
        trading_date: date,
    ) -> Fees:
        """Costs of one fill of ``amount`` after ``amount_before`` of the same order had filled.

        Charged as the increase of the order's costs, so the minimum commission
        is paid once per order however many fills it takes.
        """
        after = self.fees(symbol, side, amount_before + amount, trading_date)
        if amount_before <= 0:  # the order's first fill: nothing charged before
            return after
        before = self.fees(symbol, side, amount_before, trading_date)
        return Fees(
            after.commission - before.commission,
            after.stamp_duty - before.stamp_duty,
            after.transfer_fee - before.transfer_fee,
        )
