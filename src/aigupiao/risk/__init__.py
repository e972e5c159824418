"""The pre-trade risk gate and the trading state (ACTIVE / REDUCING / HALTED).

Pure and in memory: :class:`RiskGate` judges orders and proposes stop exits;
the cloud's risk service persists and audits what must survive a restart.
"""

from .gate import Observation, RiskGate
from .limits import LIMIT_NAMES, LimitProblem, RiskLimits
from .pending import OpenOrders, PendingOrder
from .state import StateRecord, TradingState
from .stops import ExitSignal
from .verdict import ACCEPT, RiskVerdict

__all__ = [
    "ACCEPT",
    "LIMIT_NAMES",
    "ExitSignal",
    "LimitProblem",
    "Observation",
    "OpenOrders",
    "PendingOrder",
    "RiskGate",
    "RiskLimits",
    "RiskVerdict",
    "StateRecord",
    "TradingState",
]
