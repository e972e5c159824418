"""What the backtests API takes and answers (``/api/backtests``).

:class:`BacktestCreate` mirrors :class:`~aigupiao.backtest.model.BacktestConfig` with
every value bounded (money as decimal strings, dates between 1990 and 2199, paths of at
most 255 printable characters); what the schema cannot judge (strategies, params, data
paths, codes) the service checks.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from aigupiao.backtest.model import FillModel, Rules
from aigupiao.domain.ranges import unsafe_character
from aigupiao.protocol.bounds import Identifier, Quantity, SecurityCode
from aigupiao.store import BacktestRecord

ID_PATTERN = r"^bt_[0-9a-f]{20}$"
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2199, 12, 31)


def _safe(value: str) -> str:
    char = unsafe_character(value)
    if char is not None:
        raise ValueError(f"不允许的字符 U+{ord(char):04X} (character U+{ord(char):04X})")
    return value


def _in_years(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(
            f"日期须在 {FIRST_DAY} 到 {LAST_DAY} 之间 (a date between {FIRST_DAY} and {LAST_DAY})"
        )
    return value


DataPath = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_safe)]
Day = Annotated[date, AfterValidator(_in_years)]
Rate = Annotated[Decimal, Field(ge=0, le=Decimal("0.01"), decimal_places=6, allow_inf_nan=False)]
Fee = Annotated[Decimal, Field(ge=0, le=1000, decimal_places=2, allow_inf_nan=False)]
Cash = Annotated[Decimal, Field(gt=0, le=Decimal("1e12"), decimal_places=2, allow_inf_nan=False)]
Benchmark = Annotated[
    str,
    StringConstraints(
        max_length=16, strip_whitespace=True, pattern=r"^([A-Za-z0-9.]+|buy_and_hold)$"
    ),
]


class StrategyChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Identifier = Field(description="策略名 (a built-in strategy, GET /api/backtests/options)")
    params: dict[Identifier, Any] = Field(
        default_factory=dict,
        max_length=64,
        description="its params (validated against its schema; the rest are defaults)",
    )


class BacktestCreate(BaseModel):
    """A backtest request: :class:`~aigupiao.backtest.model.BacktestConfig` as the API
    takes it. ``data`` are paths inside the configured data folders."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[StrategyChoice] = Field(min_length=1, max_length=16)
    data: list[DataPath] = Field(
        default_factory=list,
        max_length=64,
        description="files or folders of bars, relative to a data folder",
        examples=[["daily/hzjsw_stock-backtest/data/600000.csv"]],
    )
    database_bars: bool = Field(False, description="the database's stored daily bars")
    codes: list[SecurityCode] = Field(default_factory=list, max_length=1000)
    start: Day | None = None
    end: Day | None = None
    cash: Cash = Decimal("1000000")
    fill: FillModel = FillModel.NEXT_OPEN
    rules: Rules = Rules.ASHARE
    commission: Rate | None = Field(None, description="rate; null: the paper broker's fees")
    min_commission: Fee | None = None
    size: Quantity | None = Field(None, description="shares per order, overriding the strategy")
    benchmark: Benchmark | None = Field(None, description="a code, or buy_and_hold")
    adj_factors: DataPath | None = Field(None, description="tushare adj_factor file")


class BacktestSummary(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress_done: int
    progress_total: int
    created_at: str
    created_by: str
    started_at: str | None
    finished_at: str | None
    error: dict[str, str] | None
    params: dict[str, Any]

    @classmethod
    def of(cls, record: BacktestRecord) -> BacktestSummary:
        def moment(value: Any) -> str | None:
            return value.isoformat() if value is not None else None

        return cls(
            id=record.id,
            status=record.status.value,
            progress_done=record.progress_done,
            progress_total=record.progress_total,
            created_at=record.created_at.isoformat(),
            created_by=record.created_by,
            started_at=moment(record.started_at),
            finished_at=moment(record.finished_at),
            error=record.error,
            params=record.params,
        )


class BacktestDetail(BacktestSummary):
    result: dict[str, Any] | None = Field(
        None, description="the report (report_json with metrics), only when done"
    )

    @classmethod
    def of(cls, record: BacktestRecord) -> BacktestDetail:
        return cls(**BacktestSummary.of(record).model_dump(), result=record.result)


class BacktestPage(BaseModel):
    items: list[BacktestSummary]
    total: int
    limit: int
    offset: int


class StrategyOption(BaseModel):
    name: str
    title: str
    rule: str
    default: bool
    param_schema: dict[str, Any]


class BacktestOptions(BaseModel):
    strategies: list[StrategyOption]
    data_dirs: list[str] = Field(description="the data folders' names (paths are relative)")
    fills: list[str]
    rules: list[str]
