"""Trading calendars on disk: source files in, the user's update file in and out.

Source files (``read_trade_cal``) are what data vendors publish:

- tushare ``trade_cal`` CSV: ``cal_date,is_open[,pretrade_date][,exchange]``, every calendar
  day (xalpha's ``caldate.csv``) or open days only (tushare's ``is_open=1`` query);
- a list of open days: a CSV or text file whose first column (or a ``trade_date`` /
  ``cal_date`` / ``date`` column) holds the dates, as akshare's
  ``tool_trade_date_hist_sina`` gives them; or JSON, a list of dates or an object
  whose values are dates.

Dates may be ``YYYYMMDD``, ``YYYY-MM-DD`` or ``YYYY/MM/DD`` (a time after them is ignored).

The update file (``calendar.json`` in the var directory) is this module's own format. It
holds only what the user's sources said; at start it is laid over the built-in
calendar (:func:`install_update`), so a newer aigupiao's built-in data still counts
outside the update's range.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aigupiao.domain.calendar import TradingCalendar, builtin_calendar
from aigupiao.domain.sessions import use_calendar

log = logging.getLogger(__name__)

UPDATE_FORMAT = "aigupiao-calendar/1"
UPDATE_FILE_NAME = "calendar.json"
# The exchanges opened in December 1990; an earlier date is a parsing accident.
EARLIEST = date(1990, 12, 19)
# The longest real run of closed weekdays is 13 (Spring Festival 1999); a longer one
# in a source file means missing rows, not a holiday.
LONGEST_CLOSURE = 15
_DATE_COLUMNS = ("cal_date", "trade_date", "date")


class CalendarFileError(Exception):
    """A calendar file cannot be read or used (the message is for people)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")


@dataclass(frozen=True)
class SourceCalendar:
    """What one source file says, and the oddities found in it.

    Attributes:
        calendar: its trading days over the dates it spans.
        rows: how many dates it lists.
        weekend_open: weekend days it lists as open (ignored: weekends never trade).
        missing: weekdays a full listing leaves out (taken as closed).
        assumed_closed: weekdays between the known calendar and the file's first day,
            taken as closed (:func:`bridge`).
    """

    calendar: TradingCalendar
    rows: int
    weekend_open: tuple[date, ...] = ()
    missing: tuple[date, ...] = ()
    assumed_closed: tuple[date, ...] = ()


def parse_day(text: str) -> date:
    """``YYYYMMDD``, ``YYYY-MM-DD`` or ``YYYY/MM/DD``, optionally followed by a time.

    Raises:
        ValueError: none of these.
    """
    value = text.strip().strip('"').split()[0] if text.strip() else ""
    if len(value) == 8 and value.isdigit():
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    return date.fromisoformat(value[:10].replace("/", "-"))


def read_trade_cal(path: Path) -> SourceCalendar:
    """Read a calendar source file (see the module docstring for the formats).

    An update file of this module's own format is read as it is (to copy one from the
    cloud to a node's machine, say).

    Raises:
        CalendarFileError: unreadable, empty, bad dates, or contradicting rows.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise CalendarFileError(f"无法读取 {path}：{exc}", f"cannot read {path}: {exc}") from exc
    if not text.lstrip().startswith(("[", "{")):
        return source_from_rows(_csv_rows(text, path), path.name)
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalendarFileError(f"{path} 不是有效的 JSON：{exc}", f"{path} is not JSON") from exc
    if isinstance(content, dict) and "format" in content:
        calendar = _calendar_from_update(content, path)
        return SourceCalendar(calendar, (calendar.last - calendar.first).days + 1)
    values = list(content.values()) if isinstance(content, dict) else content
    if not isinstance(values, list):
        raise CalendarFileError(
            f"{path}：JSON 须为日期列表或以日期为值的对象",
            f"{path}: expected a list of dates or an object of dates",
        )
    return source_from_rows([(n, str(v), True) for n, v in enumerate(values, 1)], path.name)


def _csv_rows(text: str, path: Path) -> list[tuple[int, str, bool]]:
    """(line number, date text, is open) per data row."""
    lines = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        if any(cell.strip() for cell in row)
    ]
    if not lines:
        raise CalendarFileError(f"{path} 是空文件", f"{path} is empty")
    header = [cell.strip().lower() for cell in lines[0][1]]
    try:
        parse_day(header[0])
        has_header = False
    except (ValueError, IndexError):
        has_header = True
    if not has_header:
        return [(number, row[0], True) for number, row in lines]
    date_column = next((header.index(name) for name in _DATE_COLUMNS if name in header), None)
    if date_column is None:
        raise CalendarFileError(
            f"{path}：找不到日期列（cal_date / trade_date / date），表头为 {header}",
            f"{path}: no date column (cal_date / trade_date / date) in {header}",
        )
    open_column = header.index("is_open") if "is_open" in header else None
    exchange_column = header.index("exchange") if "exchange" in header else None
    body = lines[1:]
    if exchange_column is not None and any(_cell(r, exchange_column) == "SSE" for _, r in body):
        body = [(n, r) for n, r in body if _cell(r, exchange_column) in ("SSE", "")]
    rows = []
    for number, row in body:
        is_open = True
        if open_column is not None:
            flag = _cell(row, open_column)
            if flag not in ("0", "1"):
                raise CalendarFileError(
                    f"{path} 第 {number} 行：is_open 应为 0 或 1，收到 {flag!r}",
                    f"{path} line {number}: is_open must be 0 or 1, got {flag!r}",
                )
            is_open = flag == "1"
        rows.append((number, _cell(row, date_column), is_open))
    return rows


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def source_from_rows(rows: Iterable[tuple[int, str, bool]], source: str) -> SourceCalendar:
    """A source calendar from ``(line or index, date text, is open)`` rows.

    Days a listing leaves out between its first and last day are closed.

    Raises:
        CalendarFileError: bad dates, contradicting rows, or no rows.
    """
    status: dict[date, bool] = {}
    bad: list[str] = []
    conflicts: list[date] = []
    for number, text, is_open in rows:
        try:
            day = parse_day(text)
        except (ValueError, IndexError):
            bad.append(f"{number}: {text!r}")
            continue
        if day < EARLIEST or day.year > 2100:
            bad.append(f"{number}: {text!r}")
            continue
        if status.setdefault(day, is_open) != is_open:
            conflicts.append(day)
    if bad:
        shown = "; ".join(bad[:5]) + (f" … (+{len(bad) - 5})" if len(bad) > 5 else "")
        raise CalendarFileError(
            f"{source} 有 {len(bad)} 个无法识别的日期（行号: 内容）：{shown}",
            f"{source} has {len(bad)} unreadable date(s) (line: text): {shown}",
        )
    if conflicts:
        shown = ", ".join(d.isoformat() for d in conflicts[:5])
        raise CalendarFileError(
            f"{source} 对同一天给出了相互矛盾的开市状态：{shown}",
            f"{source} lists these days as both open and closed: {shown}",
        )
    if not status:
        raise CalendarFileError(f"{source} 不含任何日期", f"{source} holds no dates")
    first, last = min(status), max(status)
    open_days = [d for d, is_open in status.items() if is_open]
    weekend_open = tuple(sorted(d for d in open_days if d.weekday() >= 5))
    full_listing = not all(status.values())  # closed rows too: every day should be there
    missing: tuple[date, ...] = ()
    if full_listing:
        missing = tuple(
            d
            for d in (first + timedelta(days=k) for k in range((last - first).days + 1))
            if d.weekday() < 5 and d not in status
        )
    calendar = TradingCalendar.from_open_days(open_days, first=first, last=last, source=source)
    return SourceCalendar(calendar, len(status), weekend_open, missing)


# -- checking an update against what is known ------------------------------------------


@dataclass(frozen=True)
class UpdateCheck:
    """How a source file would change the calendar in use.

    Attributes:
        reopened: known closures the file says are trading days.
        closed_known: known trading days (inside the covered range) the file says are closed.
        added: closures the file adds outside the range known so far.
        long_runs: runs of more than ``LONGEST_CLOSURE`` closed weekdays (first, last day).
        weekend_open / missing: from :class:`SourceCalendar`.
    """

    source: SourceCalendar
    reopened: tuple[date, ...]
    closed_known: tuple[date, ...]
    added: tuple[date, ...]
    long_runs: tuple[tuple[date, date], ...]

    def refusals(self) -> list[tuple[str, str]]:
        """Why the file should not be used without ``--force`` (Chinese, English)."""
        reasons = []
        if self.reopened:
            reasons.append(
                (
                    f"会取消 {len(self.reopened)} 个已知休市日：{_days(self.reopened)}",
                    f"would reopen {len(self.reopened)} known closure(s): {_days(self.reopened)}",
                )
            )
        if self.closed_known:
            reasons.append(
                (
                    f"会把 {len(self.closed_known)} 个已知交易日改为休市："
                    f"{_days(self.closed_known)}",
                    f"would close {len(self.closed_known)} known trading day(s): "
                    f"{_days(self.closed_known)}",
                )
            )
        if self.long_runs:
            runs = ", ".join(f"{a}..{b}" for a, b in self.long_runs[:3])
            reasons.append(
                (
                    f"连续休市超过 {LONGEST_CLOSURE} 个工作日（疑似缺行）：{runs}",
                    f"more than {LONGEST_CLOSURE} weekdays closed in a row (missing rows?): {runs}",
                )
            )
        if self.source.weekend_open:
            days = _days(self.source.weekend_open)
            reasons.append(
                (
                    f"周末标为开市（周末从不交易，将被忽略）：{days}",
                    f"weekend days marked open (weekends never trade; ignored): {days}",
                )
            )
        return reasons

    def notes(self) -> list[tuple[str, str]]:
        """Worth saying, not worth refusing."""
        notes = []
        if self.source.assumed_closed:
            days = _days(self.source.assumed_closed)
            notes.append(
                (
                    f"文件首日之前的 {len(self.source.assumed_closed)} 个工作日按休市处理：{days}",
                    f"{len(self.source.assumed_closed)} weekday(s) before the file's first day "
                    f"taken as closed: {days}",
                )
            )
        if self.source.missing:
            days = _days(self.source.missing)
            notes.append(
                (
                    f"文件缺少 {len(self.source.missing)} 个工作日，按休市处理：{days}",
                    f"{len(self.source.missing)} weekday(s) absent from the file, taken as "
                    f"closed: {days}",
                )
            )
        if self.added:
            notes.append(
                (
                    f"新增 {len(self.added)} 个休市日：{_days(self.added, 12)}",
                    f"adds {len(self.added)} closure(s): {_days(self.added, 12)}",
                )
            )
        return notes


def _days(days: Iterable[date], limit: int = 6) -> str:
    listed = list(days)
    shown = ", ".join(d.isoformat() for d in listed[:limit])
    return shown + (f" … (+{len(listed) - limit})" if len(listed) > limit else "")


def bridge(current: TradingCalendar, source: SourceCalendar) -> SourceCalendar:
    """``source`` reaching back to the day after ``current`` ends, if it starts later.

    A list of open days for a new year starts at its first open day (2027-01-04, say),
    so the New Year closure before it is not in the file; the weekdays in between are
    taken as closed. A long stretch is then a long closure, which the check refuses.
    """
    start = current.last + timedelta(days=1)
    incoming = source.calendar
    if incoming.first <= start:
        return source
    gap = [start + timedelta(days=k) for k in range((incoming.first - start).days)]
    assumed = tuple(d for d in gap if d.weekday() < 5)
    calendar = TradingCalendar(
        start, incoming.last, incoming.closed | frozenset(assumed), incoming.source
    )
    return replace(source, calendar=calendar, assumed_closed=assumed)


def check_update(current: TradingCalendar, source: SourceCalendar) -> UpdateCheck:
    """Compare ``source`` with ``current`` over the days both cover."""
    incoming = source.calendar
    overlap_first = max(current.first, incoming.first)
    overlap_last = min(current.last, incoming.last)
    reopened: list[date] = []
    closed_known: list[date] = []
    if overlap_first <= overlap_last:
        reopened = [
            d
            for d in current.closures()
            if overlap_first <= d <= overlap_last and d not in incoming.closed
        ]
        closed_known = [
            d
            for d in incoming.closures()
            if overlap_first <= d <= overlap_last and d not in current.closed
        ]
    added = [d for d in incoming.closures() if not current.covers(d)]
    return UpdateCheck(
        source=source,
        reopened=tuple(reopened),
        closed_known=tuple(closed_known),
        added=tuple(added),
        long_runs=tuple(_long_runs(incoming)),
    )


def _long_runs(calendar: TradingCalendar) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    start: date | None = None
    previous: date | None = None
    length = 0
    for day in calendar.closures():
        # Consecutive closed weekdays: the next weekday after the previous closure.
        if previous is not None and day == _next_weekday(previous):
            length += 1
        else:
            if start is not None and previous is not None and length > LONGEST_CLOSURE:
                runs.append((start, previous))
            start, length = day, 1
        previous = day
    if start is not None and previous is not None and length > LONGEST_CLOSURE:
        runs.append((start, previous))
    return runs


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# -- the update file ---------------------------------------------------------------------


def update_to_json(calendar: TradingCalendar) -> dict[str, Any]:
    return {
        "format": UPDATE_FORMAT,
        "first": calendar.first.isoformat(),
        "last": calendar.last.isoformat(),
        "closed": [d.isoformat() for d in calendar.closures()],
        "source": calendar.source,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_update(path: Path, calendar: TradingCalendar) -> None:
    """Write ``calendar`` as the update file (atomically: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(
        json.dumps(update_to_json(calendar), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    os.replace(temporary, path)


def read_update(path: Path) -> TradingCalendar:
    """The calendar stored in an update file.

    Raises:
        CalendarFileError: missing, not JSON, or not a valid update file.
    """
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalendarFileError(
            f"无法读取交易日历更新文件 {path}：{exc}", f"cannot read calendar update {path}: {exc}"
        ) from exc
    return _calendar_from_update(content, path)


def _calendar_from_update(content: Any, path: Path) -> TradingCalendar:
    if not isinstance(content, dict) or content.get("format") != UPDATE_FORMAT:
        raise CalendarFileError(
            f"{path} 不是交易日历更新文件（format 应为 {UPDATE_FORMAT}）",
            f"{path} is not a calendar update file (format {UPDATE_FORMAT})",
        )
    try:
        return TradingCalendar(
            first=date.fromisoformat(content["first"]),
            last=date.fromisoformat(content["last"]),
            closed=frozenset(date.fromisoformat(d) for d in content["closed"]),
            source=str(content.get("source", path.name)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CalendarFileError(
            f"交易日历更新文件 {path} 内容无效：{exc}", f"invalid calendar update {path}: {exc}"
        ) from exc


def effective_calendar(update_path: Path | None) -> TradingCalendar:
    """The built-in calendar with the update file at ``update_path`` laid over it, if any.

    Raises:
        CalendarFileError: the update file exists but cannot be used.
    """
    builtin = builtin_calendar()
    if update_path is None or not update_path.is_file():
        return builtin
    update = read_update(update_path)
    try:
        merged = builtin.merged(update)
    except ValueError as exc:
        raise CalendarFileError(
            f"交易日历更新文件 {update_path} 与内置日历之间有空档：{exc}",
            f"calendar update {update_path} leaves a gap to the built-in calendar: {exc}",
        ) from exc
    reopened = [d for d in builtin.closures() if update.covers(d) and d not in update.closed]
    if reopened:
        log.warning(
            "calendar update %s reopens %d built-in closure(s): %s",
            update_path,
            len(reopened),
            _days(reopened),
        )
    return merged


def install_update(update_path: Path) -> TradingCalendar | None:
    """At process start: use the update file at ``update_path`` if there is one.

    Returns the calendar now in use, or None if there is no update file (the
    built-in calendar stays).

    Raises:
        CalendarFileError: the file exists but cannot be used (a wrong calendar
            trades on holidays, so this stops the start).
    """
    if not update_path.is_file():
        return None
    calendar = effective_calendar(update_path)
    use_calendar(calendar)
    log.info(
        "trading calendar from %s: %s .. %s (%s)",
        update_path,
        calendar.first,
        calendar.last,
        calendar.source,
    )
    return calendar
