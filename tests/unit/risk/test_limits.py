"""RiskLimits: defaults, JSON round trip, and validation with a reason per limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from aigupiao.cloud.settings import AgentSection
from aigupiao.risk import LIMIT_NAMES, RiskLimits


def test_defaults() -> None:
    limits = RiskLimits()
    assert limits.max_position_size == Decimal("0.1")  # the seed's max_position_size
    assert limits.risk_threshold == Decimal("0.08")  # the seed's risk_threshold
    assert limits.trailing_stop is None
    assert limits.max_positions == 10
    assert limits.daily_loss_limit == Decimal("0.05")
    assert limits.max_orders_per_minute == 30
    assert limits.duplicate_window == 10
    assert limits.problems() == []


def test_the_config_defaults_match_and_cover_every_limit() -> None:
    agent = AgentSection()
    assert RiskLimits(**{name: getattr(agent, name) for name in LIMIT_NAMES}) == RiskLimits()


def test_json_round_trip() -> None:
    limits = RiskLimits(trailing_stop=Decimal("0.12"), max_positions=None)
    data = limits.as_dict()
    assert data["trailing_stop"] == "0.12" and data["max_positions"] is None
    assert data["duplicate_window"] == 10
    again, problems = RiskLimits().updated(data)
    assert problems == [] and again == limits


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_position_size": "0"}, "max_position_size"),
        ({"max_position_size": "1.01"}, "max_position_size"),
        ({"risk_threshold": "1"}, "risk_threshold"),
        ({"risk_threshold": None}, "risk_threshold"),
        ({"trailing_stop": "0"}, "trailing_stop"),
        ({"max_positions": 0}, "max_positions"),
        ({"max_positions": 1.5}, "max_positions"),
        ({"max_positions": True}, "max_positions"),
        ({"daily_loss_limit": "-0.1"}, "daily_loss_limit"),
        ({"max_orders_per_minute": "many"}, "max_orders_per_minute"),
        ({"duplicate_window": -1}, "duplicate_window"),
        ({"duplicate_window": 3601}, "duplicate_window"),
        ({"duplicate_window": None}, "duplicate_window"),
        ({"max_position_size": "abc"}, "max_position_size"),
        ({"stop_everything": 1}, "stop_everything"),
    ],
)
def test_invalid_values_are_named_with_a_reason(changes: dict[str, Any], field: str) -> None:
    _, problems = RiskLimits().updated(changes)
    assert [p.field for p in problems] == [field]
    problem = problems[0]
    assert field in problem.message_zh and field in problem.message_en
    assert problem.as_dict()["field"] == field


@pytest.mark.parametrize(
    "changes",
    [
        {"max_position_size": "1"},
        {"max_position_size": 0.25},
        {"risk_threshold": "0.5", "trailing_stop": "0.99"},
        {"max_positions": 1, "max_orders_per_minute": "5"},
        {"daily_loss_limit": None, "max_positions": None, "max_orders_per_minute": None},
        {"duplicate_window": 0},
        {"duplicate_window": 3600},
    ],
)
def test_valid_values_at_the_edges(changes: dict[str, Any]) -> None:
    limits, problems = RiskLimits().updated(changes)
    assert problems == []
    assert limits.as_dict() == {**RiskLimits().as_dict(), **_json(limits, changes)}


def _json(limits: RiskLimits, changes: dict[str, Any]) -> dict[str, Any]:
    return {name: limits.as_dict()[name] for name in changes}


def test_a_float_is_read_through_its_text() -> None:
    limits, _ = RiskLimits().updated({"max_position_size": 0.1})
    assert limits.max_position_size == Decimal("0.1")
