"""What the risk gate answers: accepted, or the rule that failed with its values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from aigupiao.domain.errors import DomainError

# A value a rejection names: JSON-ready, so the decision log stores it as it is.
Value = str | int | float | bool | None


def json_value(value: object) -> Value:
    """Decimals and times as text, enums as their value; JSON scalars unchanged."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    """The gate's answer to one order.

    ``rule`` names the check that failed (see ``docs/risk.md``), ``message`` says why
    as ``"中文 (English)"``, ``values`` holds the numbers behind it (JSON-ready), and
    ``message_zh`` / ``message_en`` the two halves of the message.
    """

    accepted: bool
    rule: str | None = None
    message: str | None = None
    values: dict[str, Value] = field(default_factory=dict)
    message_zh: str | None = None
    message_en: str | None = None

    @classmethod
    def reject(cls, rule: str, zh: str, en: str, **values: object) -> RiskVerdict:
        return cls(
            False,
            rule,
            f"{zh} ({en})",
            {name: json_value(value) for name, value in values.items()},
            zh,
            en,
        )

    @classmethod
    def from_error(cls, error: DomainError, **values: object) -> RiskVerdict:
        """A rejection from an exchange rule that raised (its code is the rule)."""
        return cls.reject(error.code, error.message_zh, error.message_en, **values)

    def as_dict(self) -> dict[str, object]:
        """The shape of ``detail`` in an HTTP 422 and of the stored verdict."""
        return {
            "code": self.rule,
            "message": self.message_zh,
            "message_en": self.message_en,
            "values": dict(self.values),
        }


ACCEPT = RiskVerdict(True)
