"""The embedded default trades what the board allows (issue 13, item 13): dip-buy's
buy of a STAR stock is 200 shares, not a 100-share order the gate refuses for its lot."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from aigupiao.domain.market import Level

from ..conftest import eventually
from .stack import running_stack

STAR = "sh688981"


async def test_the_default_dip_buy_of_a_star_stock_is_a_lot_it_takes(tmp_path: Path) -> None:
    async with running_stack(tmp_path, agent=True) as stack, stack.client() as client:
        quote = stack.cloud.market.latest[STAR]
        tick = quote.symbol.tick
        price = (quote.previous_close * Decimal("0.94")).quantize(tick, rounding=ROUND_DOWN)
        # A 6% fall, pushed with more volume than the simulator reaches today: its later
        # quotes are refused as going backwards, so the dip stays the latest quote.
        dip = replace(
            quote, ts=stack.cloud.clock.now(), last=price, low=min(quote.low, price),
            high=max(quote.high, price), volume=quote.volume * 1000, amount=quote.amount * 1000,
            bids=(Level(price - tick, 100_000),), asks=(Level(price, 100_000),),
        )  # fmt: skip
        assert stack.cloud.market.publish([dip], source="test").accepted

        async def star_dip() -> list[dict[str, Any]]:
            response = await client.get("/api/decisions", params={"code": STAR})
            assert response.status_code == 200, response.text
            return [d for d in response.json() if d["strategy"] == "dip_buy"]

        (decision,) = await eventually(star_dip, timeout=20)
        assert decision["quantity"] == 200 and "200 股" in decision["reason"]
        assert decision["verdict"] == "accepted", decision["risk_message"]
        assert decision["command_id"]

        async def bought() -> list[dict[str, Any]]:
            trades = (await client.get("/api/trades")).json()
            return [t for t in trades if t["symbol"] == STAR]

        fills = await eventually(bought, timeout=20)
        assert sum(t["quantity"] for t in fills) == 200
