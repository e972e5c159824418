"""Errors the cloud services raise; routes turn them into HTTP answers with a reason."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service cannot carry out. ``status`` is the HTTP status to answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message_zh: str, message_en: str, *, code: str | None = None) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh, self.message_en = message_zh, message_en
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message_zh, "message_en": self.message_en}


class NodeNotConnected(ServiceError):
    status = 409
    code = "node_not_connected"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class InvalidRequest(ServiceError):
    status = 422
    code = "invalid_request"
