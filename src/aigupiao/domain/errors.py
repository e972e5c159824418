"""Domain errors.

Every error a user can cause carries a stable ``code`` (the rule that failed)
and a message in Chinese and English, so the API, the CLI and the socket can
all say the same thing in the user's language.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error raised by the domain model."""

    code: str = "domain_error"

    def __init__(self, message_zh: str, message_en: str, *, code: str | None = None) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh = message_zh
        self.message_en = message_en
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message_zh, "message_en": self.message_en}


class InvalidSymbol(DomainError):
    """The code is not a known A-share security code."""

    code = "invalid_symbol"


class RuleViolation(DomainError):
    """An order or value breaks an exchange rule (lot, tick, limit, session)."""

    code = "rule_violation"


class IllegalTransition(DomainError):
    """A state machine was asked for a transition its table does not allow."""

    code = "illegal_transition"
