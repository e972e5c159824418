"""Errors raised by the repositories.

They are :class:`~aigupiao.domain.errors.DomainError` (a stable ``code`` and a
Chinese and English message, so the API can answer with ``as_dict()``) and also
the built-in exception a caller would naturally catch.
"""

from __future__ import annotations

from aigupiao.domain.errors import DomainError


class DuplicateName(DomainError, ValueError):
    """An API key or node token with this name already exists."""

    code = "duplicate_name"

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"名称已存在：{name}", f"{kind} named {name!r} already exists")
        self.name = name


class DuplicateClientOrderId(DomainError, ValueError):
    """A command with this client order id exists; ``command_id`` is that command."""

    code = "duplicate_client_order_id"

    def __init__(self, client_order_id: str, command_id: str) -> None:
        super().__init__(
            f"客户端委托编号 {client_order_id} 已被指令 {command_id} 使用",
            f"client order id {client_order_id!r} is already used by command {command_id}",
        )
        self.client_order_id = client_order_id
        self.command_id = command_id


class NotFound(DomainError, LookupError):
    """The row to change does not exist."""

    code = "not_found"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"未找到{kind}：{key}", f"{kind} {key!r} not found")
        self.key = key


class NotYours(DomainError, PermissionError):
    """The command exists, but was sent to another node (or for another account)."""

    code = "not_yours"

    def __init__(self, command_id: str) -> None:
        super().__init__(
            f"指令 {command_id} 不是发给本节点的", f"command {command_id} was not sent to this node"
        )
        self.command_id = command_id
