"""People who use the dashboard and what each may do.

Three roles, each including the one below it: ``viewer`` reads, ``trader`` also
changes what trades (orders, cancels, exports, the kill switch, strategies and risk
limits), ``admin`` also manages users, keys, node tokens and settings. Machine callers
with an API key act as the role of the key's scope (``read``: viewer, ``trade``:
trader, ``admin``: admin).
"""

from __future__ import annotations

import re
from enum import StrEnum

from .errors import DomainError

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_USERNAME = re.compile(USERNAME_PATTERN)


class Role(StrEnum):
    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def includes(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may (admin includes trader includes viewer)."""
        return self.rank >= needed.rank

    @property
    def title_zh(self) -> str:
        return _TITLE_ZH[self]


_RANK = {Role.VIEWER: 0, Role.TRADER: 1, Role.ADMIN: 2}
_TITLE_ZH = {Role.VIEWER: "只读", Role.TRADER: "交易员", Role.ADMIN: "管理员"}


class InvalidUsername(DomainError):
    code = "invalid_username"


def check_username(name: str) -> str:
    """``name`` if it is 1-64 letters, digits, ``_``, ``.`` or ``-``; else InvalidUsername."""
    if not _USERNAME.match(name):
        raise InvalidUsername(
            f"用户名无效：{name!r}（1-64 个字母、数字、_ . -）",
            f"invalid username {name!r} (1-64 letters, digits, _ . -)",
        )
    return name
