"""Strategy parameters given as text (``--param fast=10``, ``--sweep fast=5,10,20``): which
strategy each one is for, and its value parsed to the type the strategy's config declares.

A key is ``strategy.param`` (``ma_cross.fast``) or just ``param`` (``fast``) when exactly
one of the run's strategies has a parameter of that name; nested settings take a dotted
path (``filter.min_avg_amount``, ``ma_cross.filter.exclude_st``). Each function raises
:class:`~.model.BacktestInputError` naming what is wrong: an unknown strategy or
parameter, an ambiguous key, a value of the wrong type, an invalid combination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from aigupiao.strategy.registry import BUILTINS, UnknownStrategy, create

from .model import BacktestInputError, StrategyRun

# Strategies that cannot run on history: the LLM one asks a network model each round.
NOT_BACKTESTABLE = frozenset({"llm"})


def _fields(name: str) -> dict[str, Any]:
    cls = BUILTINS.get(name)
    if cls is None or name in NOT_BACKTESTABLE:
        known = ", ".join(n for n in BUILTINS if n not in NOT_BACKTESTABLE)
        if cls is None:
            zh, en = f"没有名为 {name} 的策略", f"no strategy named {name}"
        else:
            zh = f"策略 {name} 每轮询问网络上的模型，不能在历史行情上回测"
            en = f"strategy {name} asks a network model each round and cannot run on history"
        raise BacktestInputError(
            f"{zh}（可选：{known}）", f"{en} (backtestable: {known})", code="unknown_strategy"
        )
    return dict(cls.config_type.model_fields)


def check_strategy(name: str) -> None:
    """Raise :class:`BacktestInputError` unless ``name`` is a built-in strategy."""
    _fields(name)


def split_assignment(text: str) -> tuple[str, str]:
    """``"key=value"`` as ``(key, value)``."""
    key, equals, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not equals or not key or not value:
        raise BacktestInputError(
            f"参数应写成 名称=值：{text!r}",
            f"a parameter is name=value: {text!r}",
            code="bad_param",
        )
    return key, value


def _field(strategy: str, path: Sequence[str]) -> FieldInfo | None:
    """The field a dotted path names in ``strategy``'s config (``filter.min_price``)."""
    fields = _fields(strategy)
    info: FieldInfo | None = None
    for depth, name in enumerate(path):
        info = fields.get(name)
        if info is None:
            return None
        if depth < len(path) - 1:
            inner = info.annotation
            if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
                return None
            fields = dict(inner.model_fields)
    return info


def target(strategies: Sequence[str], key: str) -> tuple[str, tuple[str, ...]]:
    """The ``(strategy, parameter path)`` a key names among the run's ``strategies``:
    ``ma_cross.fast``, ``fast``, ``filter.min_price``, ``ma_cross.filter.min_price``."""
    parts = tuple(key.split("."))
    if not all(parts):
        raise _unknown(key, strategies)
    if parts[0] in BUILTINS and len(parts) > 1:
        strategy, path = parts[0], parts[1:]
        if strategy not in strategies:
            raise BacktestInputError(
                f"参数 {key} 所属的策略 {strategy} 不在本次回测中（{', '.join(strategies)}）",
                f"parameter {key}: strategy {strategy} is not in this run "
                f"({', '.join(strategies)})",
                code="unknown_param",
            )
        if _field(strategy, path) is None:
            raise _unknown(key, [strategy])
        return strategy, path
    owners = [name for name in dict.fromkeys(strategies) if _field(name, parts) is not None]
    if not owners:
        raise _unknown(key, strategies)
    if len(owners) > 1:
        raise BacktestInputError(
            f"参数 {key} 有多个策略都有，请写成 策略.{key}（{', '.join(owners)}）",
            f"parameter {key} is ambiguous: write strategy.{key} ({', '.join(owners)})",
            code="ambiguous_param",
        )
    return owners[0], parts


def _unknown(key: str, strategies: Sequence[str]) -> BacktestInputError:
    known = sorted({f"{s}.{p}" for s in strategies for p in _fields(s)})
    return BacktestInputError(
        f"未知参数 {key}（可用：{', '.join(known)}）",
        f"unknown parameter {key} (known: {', '.join(known)})",
        code="unknown_param",
    )


def parse_value(strategy: str, path: Sequence[str], text: str) -> Any:
    """``text`` as the type ``strategy``'s config declares for the parameter at ``path``
    (its own checks, like ranges, included); JSON for structured values."""
    info = _field(strategy, path)
    if info is None:
        raise _unknown(".".join(path), [strategy])
    name = f"{strategy}.{'.'.join(path)}"
    annotation: Any = info.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        return adapter.validate_python(text)
    except ValidationError as exc:
        try:
            return adapter.validate_json(text)
        except ValidationError:
            reason = exc.errors()[0]["msg"]
        raise BacktestInputError(
            f"参数 {name} 的值 {text!r} 类型不对：{reason}",
            f"parameter {name}: {text!r} is not valid: {reason}",
            code="bad_param",
        ) from None


def assign(params: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``value`` at ``path`` in a strategy's (nested) parameter dict."""
    where = params
    for name in path[:-1]:
        inner = where.get(name)
        if isinstance(inner, BaseModel):
            inner = inner.model_dump()
        where[name] = dict(inner) if isinstance(inner, dict) else {}
        where = where[name]
    where[path[-1]] = value


class InvalidParams(BacktestInputError):
    """A strategy's config refuses the parameters; ``reasons`` says why, briefly."""

    def __init__(self, strategy: str, reasons: str) -> None:
        super().__init__(
            f"策略 {strategy} 的参数无效：{reasons}",
            f"invalid parameters for {strategy}: {reasons}",
            code="bad_param",
        )
        self.reasons = reasons


def validate(strategy: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The strategy's whole config checked (ranges, combinations like fast < slow)."""
    try:
        create(strategy, dict(params))
    except UnknownStrategy:
        check_strategy(strategy)
        raise
    except ValidationError as exc:
        reasons = "; ".join(
            (f"{'.'.join(str(p) for p in error['loc'])}: " if error["loc"] else "")
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        )
        raise InvalidParams(strategy, reasons) from None
    return dict(params)


def strategy_runs(names: Sequence[str], assignments: Sequence[str]) -> tuple[StrategyRun, ...]:
    """The run's strategies with their ``key=value`` parameters, each parsed and checked."""
    for name in names:
        check_strategy(name)
    params: dict[str, dict[str, Any]] = {name: {} for name in names}
    for text in assignments:
        key, value = split_assignment(text)
        strategy, path = target(names, key)
        assign(params[strategy], path, parse_value(strategy, path, value))
    return tuple(
        StrategyRun(name=name, params=validate(name, params[name])) for name in dict.fromkeys(names)
    )
