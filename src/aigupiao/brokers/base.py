"""The Broker port: what the rest of aigupiao needs from any broker.

Adapters (``paper``, ``ths``, ``qmt``, ...) implement :class:`Broker`. The
local node's executor is the only caller; it journals a command before calling
the broker and turns the outcome into the response it sends to the cloud.

Every adapter must guarantee:

* **Async and non-blocking.** Every method is a coroutine that never blocks
  the event loop; a synchronous client (a GUI driver, a vendor SDK) runs in a
  worker thread, and every step has a timeout.
* **Serialized.** Methods are safe to call concurrently; the adapter
  serializes calls that touch the client or its state (an ``asyncio.Lock``),
  so two orders never interleave in one client window.
* **Validated.** Exchange and account rules (lot, tick, price limits, trading
  hours, T+1 available quantity, cash) are checked before anything is sent.
  A request that breaks a rule raises :class:`BrokerRejected` whose ``code``
  names the rule (the codes of :class:`aigupiao.domain.errors.RuleViolation`,
  e.g. ``lot``, ``tick``, ``price_limit``, ``trading_hours``, ``cash``,
  ``available``), with a Chinese and an English message. A rejected request
  changes nothing: no order is recorded, no cash or position moves.
* **Never resubmits by itself.** An order is sent at most once per call. When
  the outcome is not known (a timeout, a lost connection after sending), the
  adapter raises :class:`BrokerTimeout`; the caller then resolves the outcome
  with :meth:`Broker.find_order` using the ``client_order_id`` and decides.
* **Pushes what happens between calls.** A resting order that fills later,
  or expires, is reported through the listener given to
  :meth:`Broker.set_listener` as ``("order_update", Order)`` and
  ``("trade", Trade)`` events, in the order they happened. The listener is
  called synchronously and must not block.
* **Domain objects out.** Orders, trades and accounts are returned as
  :mod:`aigupiao.domain` objects (``Order``, ``Trade``, ``Account``) with
  Decimal money; broker-specific shapes are translated at the edge.
* **Errors shaped by what the caller does** (``raise ... from`` the client's
  own error)::

      BrokerError            anything the broker adapter raises
      ├── BrokerRejected     business rejection: do not retry (code, message_zh, message_en)
      ├── BrokerUnavailable  not connected / client not running: retry later, nothing sent
      └── BrokerTimeout      the request may or may not have reached the broker: unknown
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from aigupiao.domain.account import Account
from aigupiao.domain.errors import DomainError
from aigupiao.domain.orders import MarketKind, Order, OrderType, Side, Trade
from aigupiao.domain.symbols import Symbol

BrokerListener = Callable[[str, "Order | Trade"], None]


class BrokerError(Exception):
    """Base of every error a broker adapter raises."""

    code: str = "broker_error"

    def __init__(self, message_zh: str, message_en: str = "", *, code: str | None = None) -> None:
        super().__init__(f"{message_zh} ({message_en})" if message_en else message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message_zh, "message_en": self.message_en}


class BrokerRejected(BrokerError):
    """The broker (or the adapter's own checks) refused the request; retrying will not help."""

    code = "rejected"

    @classmethod
    def from_violation(cls, violation: DomainError) -> BrokerRejected:
        """Wrap a domain rule violation, keeping its code and messages."""
        error = cls(violation.message_zh, violation.message_en, code=violation.code)
        error.__cause__ = violation
        return error


class BrokerUnavailable(BrokerError):
    """The broker cannot be reached (client not running, not logged in); nothing was sent."""

    code = "broker_unavailable"


class BrokerTimeout(BrokerError):
    """No answer in time after sending: the outcome is unknown, resolve with find_order."""

    code = "broker_timeout"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order to place. ``price`` is None for a market order, whose ``market_kind``
    (default best five, rest cancelled) says what happens to what does not fill at once.

    ``client_order_id`` is the caller's key for the order (the command id): it is
    kept on the resulting :class:`Order` and lets :meth:`Broker.find_order`
    resolve an unknown outcome.
    """

    account: str
    symbol: Symbol
    side: Side
    type: OrderType
    quantity: int
    price: Decimal | None
    client_order_id: str
    market_kind: MarketKind | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The order as the broker accepted it, and the fills it got right away."""

    order: Order
    trades: tuple[Trade, ...] = ()


@runtime_checkable
class Broker(Protocol):
    """A trading account at a broker. See the module docstring for the contract."""

    name: str  # adapter name: "paper", "ths", "qmt"
    account_id: str

    async def place_order(self, request: OrderRequest) -> OrderResult:
        """Validate and send one order.

        Returns the accepted order (submitted, partially filled, filled, or, for
        a market order that found no liquidity, cancelled) and its immediate fills.

        Raises:
            BrokerRejected: a rule or the broker refused it; nothing was recorded.
            BrokerUnavailable: nothing was sent.
            BrokerTimeout: it may have been placed; resolve with :meth:`find_order`.
        """
        ...

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel an open order; returns the order after the cancel.

        Raises:
            BrokerRejected: unknown order, already final, or cancels not allowed now.
        """
        ...

    async def get_account(self) -> Account:
        """Cash, frozen cash and positions (total and T+1 available)."""
        ...

    async def get_orders(self) -> list[Order]:
        """Today's orders (当日委托), oldest first."""
        ...

    async def get_trades(self) -> list[Trade]:
        """Today's fills (当日成交), oldest first."""
        ...

    async def find_order(self, client_order_id: str) -> Order | None:
        """The order placed with ``client_order_id`` (any day); None if the broker never got it."""
        ...

    def set_listener(self, listener: BrokerListener | None) -> None:
        """Receive ``(kind, object)`` events for changes made outside a call."""
        ...

    async def close(self) -> None:
        """Release the client; later calls raise :class:`BrokerUnavailable`."""
        ...
