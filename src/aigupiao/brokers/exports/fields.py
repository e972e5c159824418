"""The columns the reader understands, by header name, and how each cell is read.

Clients differ in their column sets and names (股票余额 / 参考持股, 成交均价 /
成交价格, 资金余额 / 资金本次余额 / 后资金额 ...). Every field below lists the
header names it is read from, in order of preference: the first one present in
the file is used and the other ones stay in ``extra``. Headers are compared
without spaces, with full-width brackets made ASCII and 账 read as 帐.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from .formats import ExportKind


class ValueType(Enum):
    TEXT = "text"
    ID = "id"  # order / trade / account numbers: strings, leading zeros kept
    CODE = "code"  # a security code as written; padded later with the row's context
    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: ValueType
    headers: tuple[str, ...]


class CellError(ValueError):
    """A cell that does not hold what its column says."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


_T, _ID, _C = ValueType.TEXT, ValueType.ID, ValueType.CODE
_I, _D = ValueType.INT, ValueType.DECIMAL

COMMON = (
    Field("code", _C, ("证券代码", "股票代码", "代码")),
    Field("name", _T, ("证券名称", "股票名称", "名称")),
    Field("market", _T, ("交易市场", "市场名称", "交易所名称", "交易所", "市场")),
    Field("shareholder", _ID, ("股东帐户", "股东代码", "股东帐号")),
)

_TOTAL_HEADERS: tuple[str, ...] = ("股票余额", "参考持股", "持股数量", "证券数量", "持仓数量")
_TOTAL_HEADERS += ("当前持仓", "实际数量", "股份余额")

POSITION_FIELDS = (
    *COMMON,
    Field("total", _I, _TOTAL_HEADERS),
    Field("available", _I, ("可用余额", "可用股份", "可卖数量", "可用数量", "可卖余额")),
    Field("frozen", _I, ("冻结数量",)),
    Field("cost_price", _D, ("成本价", "参考成本价", "摊薄成本价", "买入均价")),
    Field("last_price", _D, ("市价", "当前价", "最新价", "参考市价")),
    Field("market_value", _D, ("市值", "最新市值", "参考市值")),
    Field("cost_amount", _D, ("成本金额", "当前成本")),
    Field("pnl", _D, ("盈亏", "浮动盈亏", "参考盈亏")),
    Field("pnl_pct", _D, ("盈亏比例(%)", "盈亏比例", "参考盈亏比例(%)")),
)

# Trades (成交, 历史成交) and statements (交割单, 对账单, 资金流水) share their fields.
FLOW_FIELDS = (
    *COMMON,
    Field("date", ValueType.DATE, ("成交日期", "发生日期", "交易日期", "日期")),
    Field("time", ValueType.TIME, ("成交时间", "发生时间", "时间")),
    Field("operation", _T, ("操作", "买卖标志", "买卖方向")),
    Field("business", _T, ("业务名称", "摘要")),
    Field("quantity", _I, ("成交数量", "发生数量")),
    Field("price", _D, ("成交均价", "成交价格", "成交价")),
    Field("amount", _D, ("成交金额",)),
    Field("commission", _D, ("佣金", "手续费")),
    Field("stamp_duty", _D, ("印花税",)),
    Field("transfer_fee", _D, ("过户费",)),
    Field("clearing_fee", _D, ("交易所清算费", "结算费", "清算费")),
    Field("other_fee", _D, ("其他费", "附加费", "其他杂费")),
    Field("cash_change", _D, ("发生金额", "清算金额", "收付金额")),
    Field("cash_balance", _D, ("资金余额", "资金本次余额", "后资金额", "本次余额", "剩余金额")),
    Field("share_balance", _I, ("股份余额", "后证券额", "股票余额", "剩余数量")),
    Field("order_no", _ID, ("合同编号", "委托编号")),
    Field("trade_no", _ID, ("成交编号",)),
    Field("order_date", ValueType.DATE, ("委托日期",)),
    Field("currency", _T, ("币种", "货币单位")),
    Field("fx_rate", _D, ("汇率",)),
    Field("note", _T, ("备注",)),
)

ORDER_FIELDS = (
    *COMMON,
    Field("date", ValueType.DATE, ("委托日期", "日期")),
    Field("time", ValueType.TIME, ("委托时间", "时间")),
    Field("operation", _T, ("操作", "买卖标志", "买卖方向")),
    Field("status_text", _T, ("备注", "委托状态", "状态说明", "状态")),
    Field("quantity", _I, ("委托数量",)),
    Field("filled_quantity", _I, ("成交数量",)),
    Field("price", _D, ("委托价格",)),
    Field("average_price", _D, ("成交均价", "成交价格")),
    Field("cancelled_quantity", _I, ("撤消数量", "撤单数量", "已撤数量")),
    Field("order_no", _ID, ("合同编号", "委托编号")),
    Field("order_type", _T, ("订单类型", "报价方式", "委托类型")),
    Field("frozen_amount", _D, ("冻结金额",)),
)

FIELDS: dict[ExportKind, tuple[Field, ...]] = {
    ExportKind.POSITIONS: POSITION_FIELDS,
    ExportKind.TRADES: FLOW_FIELDS,
    ExportKind.ORDERS: ORDER_FIELDS,
    ExportKind.STATEMENT: FLOW_FIELDS,
}

# Columns only a statement has: a cash movement and the balance after it.
_STATEMENT_SIGNS = {"发生金额", "资金余额", "资金本次余额", "后资金额", "本次余额", "剩余金额"}
_ORDER_SIGNS = {"委托数量", "委托价格"}
_POSITION_SIGNS = {"股票余额", "参考持股", "可用余额", "可用股份", "持股数量", "持仓数量"}
_TRADE_SIGNS = {"成交数量", "成交编号"}


def normalize_header(text: str) -> str:
    return (
        text.strip()
        .replace(" ", "")
        .replace("\u3000", "")
        .replace("（", "(")
        .replace("）", ")")
        .replace("账", "帐")
    )


def detect_kind(headers: list[str]) -> ExportKind | None:
    """The kind of export a header row belongs to (normalized headers), or None."""
    present = set(headers)
    if present & _STATEMENT_SIGNS:
        return ExportKind.STATEMENT
    if present & _ORDER_SIGNS:
        return ExportKind.ORDERS
    if present & _POSITION_SIGNS:
        return ExportKind.POSITIONS
    if present & _TRADE_SIGNS:
        return ExportKind.TRADES
    return None


def known_headers() -> set[str]:
    """Every header name some field is read from (to find the header row)."""
    return {header for fields in FIELDS.values() for f in fields for header in f.headers}


def unquote(cell: str) -> str:
    """``="600900"`` -> ``600900`` (the Excel text trick); surrounding spaces removed."""
    text = cell.strip()
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        return text[2:-1].strip()
    return text


_EMPTY = {"", "--", "-", "—"}
_DATE_RE = re.compile(r"^(\d{4})(?:(\d{2})(\d{2})|[-/.](\d{1,2})[-/.](\d{1,2}))$", re.ASCII)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", re.ASCII)
_PACKED_TIME_RE = re.compile(r"^(\d{1,2})(\d{2})(\d{2})$", re.ASCII)


def _decimal(text: str, header: str) -> Decimal:
    cleaned = text.replace(",", "").removesuffix("%")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise CellError(f"{header} 不是数字：{text!r}", f"{header} is not a number: {text!r}")
    return value


def parse_cell(field: Field, header: str, cell: str) -> Any:
    """The typed value of ``cell``; None when it is empty.

    Raises:
        CellError: the cell does not hold a value of the field's type.
    """
    text = unquote(cell)
    if field.type in (ValueType.TEXT, ValueType.ID):
        return text or None
    if text in _EMPTY:
        return None
    if field.type is ValueType.CODE:
        if not text.isascii() or not text.isdigit():
            raise CellError(
                f"{header} 不是数字代码：{text!r}", f"{header} is not a numeric code: {text!r}"
            )
        return text
    if field.type is ValueType.DECIMAL:
        return _decimal(text, header)
    if field.type is ValueType.INT:
        value = _decimal(text, header)
        if value != value.to_integral_value():
            raise CellError(
                f"{header} 不是整数：{text!r}", f"{header} is not a whole number: {text!r}"
            )
        return int(value)
    if field.type is ValueType.DATE:
        return _date(text, header)
    return _time(text, header)


def _date(text: str, header: str) -> date | None:
    if set(text) == {"0"}:
        return None  # some clients write 0 for "no date" (e.g. an IPO allotment's 委托日期)
    match = _DATE_RE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        month, day = (match[2], match[3]) if match[2] else (match[4], match[5])
        return date(int(match[1]), int(month), int(day))
    except ValueError:
        raise CellError(
            f"{header} 不是日期：{text!r}", f"{header} is not a date: {text!r}"
        ) from None


def _time(text: str, header: str) -> time:
    match = _TIME_RE.match(text) or _PACKED_TIME_RE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return time(int(match[1]), int(match[2]), int(match[3] or 0))
    except ValueError:
        raise CellError(
            f"{header} 不是时间：{text!r}", f"{header} is not a time: {text!r}"
        ) from None
