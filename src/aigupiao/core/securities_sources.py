"""Security facts files in: tushare's stock_basic / fund_basic / stk_limit, and the update file.

Source files (:func:`read_source`) are what tushare writes, told apart by their header:

- ``stock_basic`` (``ts_code,symbol,name,...,list_date``): each stock's name, listing date
  and the special treatment its name shows (ST, *ST, S);
- ``fund_basic`` (``ts_code,name,...,fund_type,...,list_date,...``): each exchange-traded
  fund's name, listing date and kind (``fund_type``, name and ``benchmark``: QDII and
  overseas indexes are cross-border, 货币 money, 债券 bond, 黄金 gold, 商品 commodity,
  REITs), which decides T+0 or T+1; a benchmark on a STAR or ChiNext index (科创, 创业板)
  gives +-20% limits. Off-exchange rows (``market`` other than ``E``, ``.OF`` codes) are
  left out;
- ``stk_limit`` (``trade_date,ts_code[,pre_close],up_limit,down_limit``): which funds
  have +-20% limits and which +-10% (the ratio the two limits show). Stock rows are
  checked against the facts in use (where ``pre_close`` is given), never stored: a
  stock's limits follow from its board, name and listing date;
- this module's own update file (JSON), to copy one from the cloud to a node's machine.

A row whose code is well formed but names a security aigupiao does not trade (B
shares 200xxx/900xxx, off-exchange funds) is skipped and counted. A malformed row (a
bad code, date or price, no name, contradicting limits) refuses the whole file, with
the line and the reason.

The update file's entries (:func:`changes_from_update`) are read here too, since a copied
update file is a source like the others; writing it and laying it over the built-in table
is :mod:`aigupiao.core.securities_file`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aigupiao.domain.errors import DomainError
from aigupiao.domain.securities import (
    WIDE,
    FundKind,
    SecurityTable,
    limit_prices,
)
from aigupiao.domain.symbols import Board, Special, Symbol, parse_symbol, special_of_name

UPDATE_FORMAT = "aigupiao-symbols/1"
FIELDS = ("name", "fund_kind", "listed_on", "special", "limit_ratio")
EARLIEST = date(1990, 12, 19)  # the exchanges opened then; an earlier date is an accident
MAX_ERRORS_SHOWN = 5
# tushare writes "no limit" (a new listing) as an absurd up limit.
NO_LIMIT_UP = Decimal("99999")
_RATIOS = (Decimal("0.05"), Decimal("0.10"), Decimal("0.20"), Decimal("0.30"))
_CODE = re.compile(r"^(?:(sh|sz|bj)\.?)?[0-9]{6}(?:\.(sh|sz|bj|of))?$", re.IGNORECASE)
_OVERSEAS = (
    "QDII", "恒生", "港股", "香港", "纳斯达克", "纳指", "标普", "道琼斯", "日经", "德国", "法国",
    "美国", "海外", "全球", "中概", "亚太", "东南亚", "沙特", "欧洲", "H股",
)  # fmt: skip
_WIDE_INDEX = ("科创", "创业板", "双创")

Changes = dict[str, dict[str, Any]]  # prefixed code -> the fields a source gives


class SecurityFileError(Exception):
    """A security facts file cannot be read or used (the message is for people)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass
class SourceFacts:
    """What one source file says.

    Attributes:
        layout: ``stock_basic``, ``fund_basic``, ``stk_limit``, ``update`` or ``akshare``.
        source: the file's name (or the download's).
        changes: the facts it gives, by prefixed code and field (typed as
            :class:`~aigupiao.domain.securities.SecurityFacts` has them).
        rows: data rows read.
        skipped: codes of rows left out (securities aigupiao does not trade).
        notes: what is worth saying about it (Chinese, English).
    """

    layout: str
    source: str
    changes: Changes = field(default_factory=dict)
    rows: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


class _Errors:
    """Malformed rows, collected: the file is refused with the first few."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[tuple[int, str, str]] = []

    def add(self, line: int, zh: str, en: str) -> None:
        self.found.append((line, zh, en))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        count = len(self.found)
        shown = self.found[:MAX_ERRORS_SHOWN]
        more = f" … (+{count - len(shown)})" if count > len(shown) else ""
        zh = "；".join(f"第 {line} 行：{reason}" for line, reason, _ in shown) + more
        en = "; ".join(f"line {line}: {reason}" for line, _, reason in shown) + more
        raise SecurityFileError(
            f"{self.source} 有 {count} 行无效，未使用该文件：{zh}",
            f"{self.source} has {count} malformed row(s); the file was not used: {en}",
        )


# -- reading source files ------------------------------------------------------------------


def read_source(path: Path, current: SecurityTable) -> SourceFacts:
    """Read a source file (see the module docstring); ``current`` is the table in use,
    which ``stk_limit`` rows are checked against.

    Raises:
        SecurityFileError: unreadable, an unknown layout, or malformed rows.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("gb18030", errors="replace")
    except OSError as exc:
        raise SecurityFileError(f"无法读取 {path}：{exc}", f"cannot read {path}: {exc}") from exc
    if text.lstrip().startswith("{"):
        try:
            content = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SecurityFileError(
                f"{path} 不是有效的 JSON：{exc}", f"{path} is not JSON: {exc}"
            ) from exc
        changes, source = changes_from_update(content, path)
        return SourceFacts("update", source, changes, rows=len(changes))
    lines = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        if any(cell.strip() for cell in row)
    ]
    if not lines:
        raise SecurityFileError(f"{path} 是空文件", f"{path} is empty")
    header = [cell.strip().lower() for cell in lines[0][1]]
    body = [
        (number, dict(zip(header, (c.strip() for c in row), strict=False)))
        for number, row in lines[1:]
    ]
    columns = set(header)
    if {"up_limit", "down_limit"} <= columns:
        return stk_limit_facts(body, path.name, current)
    if "fund_type" in columns:
        return fund_facts(_fund_rows(body), path.name)
    if "list_date" in columns and "name" in columns:
        return stock_facts(_stock_rows(body), path.name)
    raise SecurityFileError(
        f"{path}：无法识别的表头 {header[:8]}（应为 tushare stock_basic、fund_basic 或 stk_limit）",
        f"{path}: unknown header {header[:8]} (expected tushare stock_basic, fund_basic "
        "or stk_limit)",
    )


def _code_of(row: Mapping[str, str]) -> str:
    return row.get("ts_code") or row.get("symbol") or row.get("code") or ""


def _stock_rows(body: list[tuple[int, dict[str, str]]]) -> list[tuple[int, str, str, str]]:
    return [(n, _code_of(r), r.get("name", ""), r.get("list_date", "")) for n, r in body]


def _fund_rows(
    body: list[tuple[int, dict[str, str]]],
) -> list[tuple[int, str, str, str, str, str]]:
    rows = []
    for number, row in body:
        if row.get("market", "E").upper() not in ("E", ""):
            continue  # an off-exchange (OTC) fund
        if row.get("status", "L").upper() == "D":
            continue  # delisted
        rows.append(
            (
                number,
                _code_of(row),
                row.get("name", ""),
                row.get("fund_type", ""),
                row.get("list_date", ""),
                row.get("benchmark", ""),
            )
        )
    return rows


def _symbol(code: str, number: int, errors: _Errors, skipped: list[str]) -> Symbol | None:
    """The security of a row; None (and the code noted) when it is not one to keep."""
    text = code.strip()
    if not _CODE.match(text):
        errors.add(number, f"证券代码无效：{text!r}", f"invalid security code {text!r}")
        return None
    if text.upper().endswith(".OF"):
        skipped.append(text)  # an off-exchange fund
        return None
    try:
        return parse_symbol(text)
    except DomainError:
        skipped.append(text)
        return None


def _date(text: str, number: int, errors: _Errors, what: str) -> date | None:
    value = text.strip()
    try:
        if len(value) == 8 and value.isdigit():
            day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        else:
            day = date.fromisoformat(value[:10].replace("/", "-"))
    except ValueError:
        errors.add(number, f"{what}无效：{value!r}", f"invalid {what}: {value!r}")
        return None
    if day < EARLIEST or day.year > 2100:
        errors.add(number, f"{what}超出范围：{value}", f"{what} out of range: {value}")
        return None
    return day


def stock_facts(rows: Iterable[tuple[int, str, str, str]], source: str) -> SourceFacts:
    """Facts from stock-list rows ``(line, code, name, listing date)``: name, special
    treatment, listing date (an empty date gives none).

    Raises:
        SecurityFileError: malformed rows (line and reason).
    """
    facts = SourceFacts("stock_basic", source)
    errors = _Errors(source)
    for number, code, name, listed in rows:
        facts.rows += 1
        symbol = _symbol(code, number, errors, facts.skipped)
        if symbol is None:
            continue
        if not symbol.is_stock:
            facts.skipped.append(code)
            continue
        given = _named(name, number, errors)
        if given is None:
            continue
        if listed.strip():
            day = _date(listed, number, errors, "上市日期 list_date ")
            if day is None:
                continue
            given["listed_on"] = day
        _put(facts, symbol, given, number, errors)
    errors.raise_if_any()
    return facts


def fund_kind_of(fund_type: str, name: str, benchmark: str = "") -> FundKind:
    """A fund's kind from tushare's ``fund_type`` (or akshare's 基金类型), name and benchmark."""
    text = f"{fund_type} {name}"
    if any(word in text.upper() for word in ("QDII", "跨境")) or any(
        word in f"{name} {benchmark}" for word in _OVERSEAS
    ):
        return FundKind.CROSS_BORDER
    if "REIT" in text.upper():
        return FundKind.REIT
    if "货币" in text:
        return FundKind.MONEY
    if ("黄金" in text or "上海金" in text) and "黄金股" not in text:  # 黄金股: miners
        return FundKind.GOLD
    if "商品" in text or "期货" in text:
        return FundKind.COMMODITY
    if "债" in fund_type or ("债" in name and "股" not in fund_type):
        return FundKind.BOND
    return FundKind.EQUITY


def fund_facts(rows: Iterable[tuple[int, str, str, str, str, str]], source: str) -> SourceFacts:
    """Facts from fund-list rows ``(line, code, name, fund type, listing date, benchmark)``:
    name, kind, listing date, and +-20% limits for STAR and ChiNext index funds.

    Raises:
        SecurityFileError: malformed rows (line and reason).
    """
    facts = SourceFacts("fund_basic", source)
    errors = _Errors(source)
    for number, code, name, fund_type, listed, benchmark in rows:
        facts.rows += 1
        symbol = _symbol(code, number, errors, facts.skipped)
        if symbol is None:
            continue
        if symbol.board is not Board.FUND:
            facts.skipped.append(code)  # an OTC fund whose code reads as a stock
            continue
        given = _named(name, number, errors)
        if given is None:
            continue
        given.pop("special", None)  # funds have no special treatment
        given["fund_kind"] = fund_kind_of(fund_type, name, benchmark)
        if listed.strip():
            day = _date(listed, number, errors, "上市日期 list_date ")
            if day is None:
                continue
            given["listed_on"] = day
        if any(word in f"{name} {benchmark}" for word in _WIDE_INDEX):
            given["limit_ratio"] = WIDE
        _put(facts, symbol, given, number, errors)
    errors.raise_if_any()
    return facts


def stk_limit_facts(
    body: list[tuple[int, dict[str, str]]], source: str, current: SecurityTable
) -> SourceFacts:
    """Facts from tushare ``stk_limit`` rows (see the module docstring).

    Raises:
        SecurityFileError: malformed rows (line and reason).
    """
    facts = SourceFacts("stk_limit", source)
    errors = _Errors(source)
    differ: list[str] = []
    checked = 0
    no_limit: list[str] = []
    for number, row in body:
        facts.rows += 1
        symbol = _symbol(_code_of(row), number, errors, facts.skipped)
        if symbol is None:
            continue
        up = _price(row.get("up_limit", ""), number, errors, "up_limit")
        down = _price(row.get("down_limit", ""), number, errors, "down_limit")
        if up is None or down is None:
            continue
        if up >= NO_LIMIT_UP:
            no_limit.append(symbol.full)
            continue
        if not 0 < down < up:
            errors.add(
                number,
                f"跌停价 {down} 不低于涨停价 {up}",
                f"down limit {down} is not below the up limit {up}",
            )
            continue
        day = None
        if row.get("trade_date"):
            day = _date(row["trade_date"], number, errors, "交易日 trade_date ")
            if day is None:
                continue
        facts_now = current.facts(symbol)
        if symbol.board is Board.FUND:
            ratio = min(_RATIOS, key=lambda r: abs(r - (up - down) / (up + down)))
            wanted = WIDE if ratio == WIDE else None
            on = day or date.max
            if facts_now.ratio_on(on) != wanted:
                facts.changes.setdefault(symbol.full, {})["limit_ratio"] = wanted
            continue
        previous_close = row.get("pre_close", "")
        if day is None or not previous_close:
            continue
        close = _price(previous_close, number, errors, "pre_close")
        if close is None:
            continue
        checked += 1
        if limit_prices(facts_now, close, day) != (up, down):
            differ.append(symbol.full)
    errors.raise_if_any()
    if checked:
        facts.notes.append(
            (
                f"核对了 {checked} 只股票的涨跌停价，{len(differ)} 只与当前事实不符："
                f"{codes_text(differ)}",
                f"checked the limits of {checked} stocks; {len(differ)} differ from the facts "
                f"in use: {codes_text(differ)}",
            )
        )
    if no_limit:
        facts.notes.append(
            (
                f"{len(no_limit)} 只证券当日无涨跌幅限制（新股）：{codes_text(no_limit)}",
                f"{len(no_limit)} securities had no limit that day (new listings): "
                f"{codes_text(no_limit)}",
            )
        )
    return facts


def _price(text: str, number: int, errors: _Errors, what: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        errors.add(number, f"{what} 不是数字：{text!r}", f"{what} is not a number: {text!r}")
        return None
    if not value.is_finite() or value <= 0:
        errors.add(number, f"{what} 须为正数：{text!r}", f"{what} must be positive: {text!r}")
        return None
    return value


def _named(name: str, number: int, errors: _Errors) -> dict[str, Any] | None:
    clean = name.replace(" ", "").strip()
    if not clean:
        errors.add(number, "缺少证券名称", "no name")
        return None
    if len(clean) > 32 or not clean.isprintable():
        errors.add(number, f"证券名称无效：{name!r}", f"invalid name {name!r}")
        return None
    return {"name": clean, "special": special_of_name(clean)}


def _put(
    facts: SourceFacts, symbol: Symbol, given: dict[str, Any], number: int, errors: _Errors
) -> None:
    known = facts.changes.get(symbol.full)
    if known is not None and known != given:
        errors.add(
            number,
            f"{symbol.full} 重复出现且内容不同",
            f"{symbol.full} appears twice with different facts",
        )
        return
    facts.changes[symbol.full] = given


def codes_text(codes: list[str], limit: int = 8) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" … (+{len(codes) - limit})" if len(codes) > limit else "")


def _typed_value(name: str, value: Any) -> Any:
    """A field's value from JSON, typed (raises ValueError or TypeError)."""
    if value is None:
        if name == "name":
            raise TypeError("name must be a string")
        return None
    if name == "name":
        if not isinstance(value, str):
            raise TypeError("name must be a string")
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string or null")
    if name == "listed_on":
        return date.fromisoformat(value)
    if name == "fund_kind":
        return FundKind(value)
    if name == "special":
        return Special(value)
    ratio = Decimal(value)
    if not Decimal(0) < ratio < Decimal(1):
        raise ValueError(f"limit_ratio {value} is not between 0 and 1")
    return ratio


def changes_from_update(content: Any, path: Path) -> tuple[Changes, str]:
    if not isinstance(content, dict) or content.get("format") != UPDATE_FORMAT:
        raise SecurityFileError(
            f"{path} 不是证券信息更新文件（format 应为 {UPDATE_FORMAT}）",
            f"{path} is not a symbols update file (format {UPDATE_FORMAT})",
        )
    securities = content.get("securities")
    if not isinstance(securities, dict):
        raise SecurityFileError(
            f"证券信息更新文件 {path} 缺少 securities", f"symbols update {path}: no securities"
        )
    changes: Changes = {}
    for code, given in securities.items():
        try:
            symbol = parse_symbol(code)
            if not isinstance(given, dict) or set(given) - set(FIELDS):
                raise ValueError(f"fields must be among {FIELDS}")
            changes[symbol.full] = {name: _typed_value(name, v) for name, v in given.items()}
        except (DomainError, ValueError, TypeError, InvalidOperation) as exc:
            raise SecurityFileError(
                f"证券信息更新文件 {path} 中 {code!r} 无效：{exc}",
                f"symbols update {path}: invalid entry {code!r}: {exc}",
            ) from exc
    return changes, str(content.get("source", path.name))
