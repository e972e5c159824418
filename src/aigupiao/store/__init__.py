"""Persistence: SQLAlchemy models, Alembic migrations and repositories.

Works on SQLite (the embedded default) and PostgreSQL with one schema. Money is
``Decimal`` and times are aware UTC datetimes on both.
"""

from .db import DEFAULT_SQLITE_URL, Database, alembic_config
from .errors import DuplicateClientOrderId, DuplicateName, NotFound, NotYours
from .repositories import (
    SCOPES,
    AccountRepo,
    ApiKeyRepo,
    AuditRepo,
    BacktestRecord,
    BacktestRepo,
    BacktestStatus,
    BarRepo,
    CommandRepo,
    DecisionRepo,
    KeyIdentity,
    NodeIdentity,
    NodeRepo,
    NodeTokenRepo,
    OrderRepo,
    PositionRepo,
    QuoteRepo,
    Repository,
    Scope,
    SettingRepo,
    SymbolRepo,
    TradeRepo,
    UserRepo,
    UserSessionRepo,
)
from .secrets import hash_secret, new_secret

__all__ = [
    "DEFAULT_SQLITE_URL",
    "SCOPES",
    "AccountRepo",
    "ApiKeyRepo",
    "AuditRepo",
    "BacktestRecord",
    "BacktestRepo",
    "BacktestStatus",
    "BarRepo",
    "CommandRepo",
    "Database",
    "DecisionRepo",
    "DuplicateClientOrderId",
    "DuplicateName",
    "KeyIdentity",
    "NodeIdentity",
    "NodeRepo",
    "NodeTokenRepo",
    "NotFound",
    "NotYours",
    "OrderRepo",
    "PositionRepo",
    "QuoteRepo",
    "Repository",
    "Scope",
    "SettingRepo",
    "SymbolRepo",
    "TradeRepo",
    "UserRepo",
    "UserSessionRepo",
    "alembic_config",
    "hash_secret",
    "new_secret",
]
