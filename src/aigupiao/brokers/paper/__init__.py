"""The paper broker: simulated fills against live or simulated quotes."""

from .broker import PaperBroker
from .fees import FeeSchedule

__all__ = ["FeeSchedule", "PaperBroker"]
