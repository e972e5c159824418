"""Broker adapters behind one port; :mod:`aigupiao.brokers.base` is the contract."""

from .base import (
    Broker,
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    OrderRequest,
    OrderResult,
)

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerRejected",
    "BrokerTimeout",
    "BrokerUnavailable",
    "OrderRequest",
    "OrderResult",
]
