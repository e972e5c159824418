import pytest

from aigupiao.brokers.paper import PaperBroker
from aigupiao.core.clock import ManualClock

from .helpers import MAOTAI, PINGAN, START_CASH, Market, at, make_quote


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(10, 0))


@pytest.fixture
def market() -> Market:
    market = Market()
    market.set(make_quote(MAOTAI, "1466.80", asks=[("1466.80", 300), ("1466.81", 500)]))
    market.set(make_quote(PINGAN, "10.91"))
    return market


@pytest.fixture
def broker(clock: ManualClock, market: Market) -> PaperBroker:
    return PaperBroker("paper-1", START_CASH, clock, market.get)
