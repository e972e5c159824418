"""Domain errors and the transition-table helper."""

from __future__ import annotations

from enum import Enum

import pytest

from aigupiao.domain.errors import DomainError, IllegalTransition, InvalidSymbol, RuleViolation
from aigupiao.domain.states import next_state


def test_domain_error_carries_both_languages_and_a_code() -> None:
    err = DomainError("价格错误", "bad price")
    assert str(err) == "价格错误 (bad price)"
    assert err.message_zh == "价格错误"
    assert err.message_en == "bad price"
    assert err.code == "domain_error"
    assert err.as_dict() == {
        "code": "domain_error",
        "message": "价格错误",
        "message_en": "bad price",
    }


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (InvalidSymbol, "invalid_symbol"),
        (RuleViolation, "rule_violation"),
        (IllegalTransition, "illegal_transition"),
    ],
)
def test_subclass_default_codes(cls: type[DomainError], code: str) -> None:
    err = cls("中文", "english")
    assert isinstance(err, DomainError)
    assert isinstance(err, Exception)
    assert err.code == code
    assert err.as_dict()["code"] == code


def test_code_override_is_per_instance() -> None:
    err = RuleViolation("数量错误", "bad lot", code="lot")
    assert err.code == "lot"
    assert err.as_dict() == {"code": "lot", "message": "数量错误", "message_en": "bad lot"}
    assert RuleViolation.code == "rule_violation"
    assert RuleViolation("x", "y").code == "rule_violation"


def test_domain_errors_can_be_raised_and_caught_by_base() -> None:
    with pytest.raises(DomainError) as info:
        raise RuleViolation("超出涨停价", "above limit up", code="limit")
    assert info.value.code == "limit"


class Light(Enum):
    RED = "red"
    GREEN = "green"


TABLE = {(Light.RED, "go"): Light.GREEN, (Light.GREEN, "stop"): Light.RED}


def test_next_state_follows_the_table() -> None:
    assert next_state(TABLE, Light.RED, "go", "灯/light") is Light.GREEN
    assert next_state(TABLE, Light.GREEN, "stop", "灯/light") is Light.RED


def test_next_state_raises_illegal_transition_with_both_messages() -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(TABLE, Light.RED, "stop", "灯/light")
    err = info.value
    assert err.message_zh == "灯/light状态 red 不允许 stop"
    assert err.message_en == "灯/light in state red does not allow stop"
    assert err.__cause__ is None
    assert err.__suppress_context__
