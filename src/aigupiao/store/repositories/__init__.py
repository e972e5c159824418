"""Repositories: one per aggregate, each working in the caller's session."""

from ._base import Repository
from .audit import AuditRepo, SettingRepo
from .auth import SCOPES, ApiKeyRepo, KeyIdentity, NodeIdentity, NodeTokenRepo, Scope
from .backtests import BacktestRecord, BacktestRepo, BacktestStatus
from .commands import CommandRepo, DecisionRepo
from .market import BarRepo, QuoteRepo, SymbolRepo
from .nodes import NodeRepo
from .trading import AccountRepo, OrderRepo, PositionRepo, TradeRepo
from .users import UserRepo, UserSessionRepo

__all__ = [
    "SCOPES",
    "AccountRepo",
    "ApiKeyRepo",
    "AuditRepo",
    "BacktestRecord",
    "BacktestRepo",
    "BacktestStatus",
    "BarRepo",
    "CommandRepo",
    "DecisionRepo",
    "KeyIdentity",
    "NodeIdentity",
    "NodeRepo",
    "NodeTokenRepo",
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
]
