"""Which broker a local node trades through: ``trading.broker`` in ``local_config.json``.

``paper``  the simulated broker, filled from the cloud's quotes (the default)
``ths``    a 同花顺-style desktop client (xiadan.exe) through easytrader, Windows only
``qmt``    miniQMT through xtquant, Windows only

The live adapters import their client library only when they connect, so this
module (and ``aigupiao local`` with the paper broker) works on any system.

The self-check that reads a live broker without placing anything is
:mod:`aigupiao.cli.broker_check`.
"""

from __future__ import annotations

from collections.abc import Callable

from aigupiao.brokers.base import Broker
from aigupiao.brokers.paper.broker import PaperBroker
from aigupiao.brokers.paper.store import PaperStore
from aigupiao.core.clock import Clock
from aigupiao.domain.market import Quote
from aigupiao.local.settings import LocalSettings

BROKERS = ("paper", "ths", "qmt")
PAPER_FILE = "paper.db"  # in node.data_dir: the paper accounts

QuoteSource = Callable[[str], Quote | None]


class UnknownBroker(ValueError):
    """``trading.broker`` names no adapter."""

    def __init__(self, name: str) -> None:
        valid = ", ".join(BROKERS)
        super().__init__(
            f"未知的券商适配器 trading.broker={name!r}，可选：{valid} "
            f"(unknown broker {name!r}; valid: {valid})"
        )


def check_broker_name(settings: LocalSettings) -> None:
    """Raises :class:`UnknownBroker` before anything starts."""
    if settings.trading.broker not in BROKERS:
        raise UnknownBroker(settings.trading.broker)


def build_broker(settings: LocalSettings, clock: Clock, quotes: QuoteSource) -> Broker:
    """The broker adapter ``settings.trading.broker`` names, configured from ``settings``.

    Args:
        settings: the node's settings (``trading.*``, ``node.account``, ``node.data_dir``).
        clock: the trading clock (the live adapters should get the wall clock).
        quotes: the latest quote by prefixed code (fills for paper; limits and checks for
            the live adapters).

    Raises:
        UnknownBroker: the name is none of :data:`BROKERS`.
        BrokerUnavailable: a live adapter cannot run here (``ExtraMissing``: not Windows,
            or its library is not installed) or a setting it needs is missing.
    """
    check_broker_name(settings)
    trading, node = settings.trading, settings.node
    if trading.broker == "paper":
        return PaperBroker(
            node.account,
            trading.paper_cash,
            clock,
            quotes,
            latency=trading.paper_latency,
            store=PaperStore(node.data_dir / PAPER_FILE),  # the account survives restarts
        )
    if trading.broker == "ths":
        from aigupiao.brokers.ths import ThsBroker

        return ThsBroker(
            node.account,
            data_dir=node.data_dir,
            clock=clock,
            quotes=quotes,
            client_path=trading.ths_client_path,
            client_type=trading.ths_client_type,
            grid_strategy=trading.ths_grid_strategy,
            type_keys=trading.ths_type_keys,
            step_timeout=trading.step_timeout,
            order_timeout=trading.step_timeout,
            poll_interval=trading.poll_interval,
        )
    from aigupiao.brokers.qmt import QmtBroker

    return QmtBroker(
        node.account,
        data_dir=node.data_dir,
        clock=clock,
        quotes=quotes,
        qmt_path=trading.qmt_path,
        qmt_account=trading.qmt_account,
        session_id=trading.qmt_session_id,
        step_timeout=trading.step_timeout,
    )
