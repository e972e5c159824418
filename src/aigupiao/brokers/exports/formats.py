"""What broker client exports look like: their kinds, file names and words.

Shared by :mod:`.writer` (which speaks this vocabulary) and :mod:`.reader`
(which understands it and the variants real clients use).
"""

from __future__ import annotations

import re
from enum import StrEnum

from aigupiao.domain.orders import Order, Side
from aigupiao.domain.symbols import Exchange


class ExportKind(StrEnum):
    POSITIONS = "positions"  # 持仓
    TRADES = "trades"  # 成交 / 历史成交
    ORDERS = "orders"  # 委托
    STATEMENT = "statement"  # 交割单 / 对账单 / 资金流水

    @property
    def label_zh(self) -> str:
        return _KIND_ZH[self]


_KIND_ZH = {
    ExportKind.POSITIONS: "持仓",
    ExportKind.TRADES: "成交",
    ExportKind.ORDERS: "委托",
    ExportKind.STATEMENT: "对账单/交割单",
}

# The file name stem the 同花顺 xiadan client gives each export, e.g. 持仓数据_0702_165122.
FILE_TITLES = {
    ExportKind.POSITIONS: "持仓数据",
    ExportKind.TRADES: "成交数据",
    ExportKind.ORDERS: "委托数据",
}
# Only files named like this are ever deleted by the export cleanup.
EXPORT_FILE_RE = re.compile(
    r"^(?:持仓数据|成交数据|委托数据)_[0-9]{4}_[0-9]{6}(?:_[0-9]+)?\.(?:xls|csv)$"
)

SIDE_TEXT = {Side.BUY: "买入", Side.SELL: "卖出"}
MARKET_TEXT = {Exchange.SH: "上海", Exchange.SZ: "深圳", Exchange.BJ: "北京"}

ORDER_TYPE_TEXT = {"limit": "限价", "market": "市价"}


def status_text(order: Order) -> str:
    """The order's state as the client's 备注 column says it (部撤 after a partial fill)."""
    return order.status_zh


def side_of(text: str | None) -> Side | None:
    """买入 / 证券买入 / 港股通买入 -> BUY, 卖出 ... -> SELL; anything else (申购配号) -> None."""
    if not text:
        return None
    buys, sells = "买" in text, "卖" in text
    if buys and not sells:
        return Side.BUY
    if sells and not buys:
        return Side.SELL
    return None
