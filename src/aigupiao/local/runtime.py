"""Everything one local node runs: journal, broker, executor and the cloud link."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from aigupiao.brokers.base import Broker
from aigupiao.brokers.exports import ExportDirectory
from aigupiao.core.files import private_dir
from aigupiao.core.lifecycle import TaskGroup
from aigupiao.domain.orders import Order, Trade
from aigupiao.protocol.codec import account_to_dict, check_event, order_to_dict, trade_to_dict

from .executor import Executor
from .journal import Journal
from .link import CloudLink
from .names import CloudNames, NameSource
from .settings import LocalSettings

log = logging.getLogger(__name__)


def local_api_key(data_dir: Path) -> str:
    """The node's own API key for ``/trade`` and ``/export`` when none is configured.

    Made once, kept in ``<data_dir>/api_key`` (mode 0600); the log names the file, never
    the key (logs are read by more people than the node's files).
    """
    path = data_dir / "api_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    private_dir(data_dir)
    key = "agl_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    log.warning("已生成本地 API 密钥，见 %s (made the local API key; it is in that file)", path)
    return key


@dataclass
class LocalRuntime:
    settings: LocalSettings
    broker: Broker
    journal: Journal
    executor: Executor
    link: CloudLink | None
    tasks: TaskGroup = field(default_factory=lambda: TaskGroup("local"))
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    _events: asyncio.Queue[tuple[str, Order | Trade]] = field(default_factory=asyncio.Queue)

    api_key: str = ""

    @classmethod
    def build(
        cls,
        settings: LocalSettings,
        broker: Broker,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        names: NameSource | None = None,
    ) -> LocalRuntime:
        """Wire a node. ``names`` gives security names for export files; by default the
        cloud's quote API is asked when a cloud token is configured, else names stay empty."""
        journal = Journal(settings.node.data_dir / "journal.db")
        if names is None and settings.cloud.token:
            names = CloudNames(
                settings.cloud.api_url, settings.cloud.token, ca_file=settings.cloud.ca_file
            )
        executor = Executor(
            broker,
            journal,
            broker_timeout=settings.trading.broker_timeout,
            wall_clock=wall_clock,
            exports=ExportDirectory(
                # Absolute, so the paths in an export's answer mean the same to every reader.
                (settings.trading.export_dir or settings.node.data_dir / "exports").absolute(),
                keep=timedelta(hours=settings.trading.export_cleanup_hours),
            ),
            names=names,
        )
        link = None
        if settings.cloud.token:
            link = CloudLink(
                url=settings.cloud.websocket_url,
                token=settings.cloud.token,
                node_id=settings.node.id,
                account=settings.node.account,
                executor=executor,
                journal=journal,
                ca_file=settings.cloud.ca_file,
            )
        else:
            log.warning("no cloud.token configured: running without the cloud link")
        return cls(
            settings=settings, broker=broker, journal=journal, executor=executor, link=link,
            api_key=settings.server.api_key or local_api_key(settings.node.data_dir),
        )  # fmt: skip

    async def start(self) -> None:
        await self._remove_old_exports()
        self.broker.set_listener(lambda kind, item: self._events.put_nowait((kind, item)))
        self.tasks.start("broker-events", self._forward_events)  # restarted if it raises
        resolved = await self.executor.resolve_interrupted()
        if resolved:
            log.warning("resolved %d command(s) interrupted by the last stop", len(resolved))
        if self.link is not None:
            self.tasks.start("cloud-link", partial(self.link.run, self.stop_event))

    async def _remove_old_exports(self) -> None:
        """Delete export files older than ``trading.export_cleanup_hours``; exports do too."""
        exports = self.executor.exports
        if exports is None:
            return
        try:
            removed = await asyncio.to_thread(exports.cleanup, self.executor.wall_clock())
        except OSError as exc:
            log.warning("could not clean up old exports in %s: %s", exports.path, exc)
            return
        if removed:
            log.info("deleted %d export file(s) older than %s", len(removed), exports.keep)

    async def _forward_events(self) -> None:
        """Journal broker pushes in order (each gets a seq) and send them to the cloud.

        After a burst of fills the account snapshot follows, so the cloud's cash
        and positions stay current.
        """
        while True:
            kind, item = await self._events.get()
            try:
                data = order_to_dict(item) if isinstance(item, Order) else trade_to_dict(item)
                await self._report(kind, data)
                if kind == "trade" and self._events.empty():
                    account = await self.broker.get_account()
                    await self._report("account", account_to_dict(account))
            except Exception:
                log.exception("could not journal broker event %s", kind)
            finally:
                self._events.task_done()

    async def _report(self, kind: str, data: dict[str, Any]) -> None:
        problem = check_event(kind, data)
        if problem is not None:  # the cloud would refuse it on every re-send
            log.error("broker event %s cannot be reported (%s): %s", kind, problem, data)
            return
        seq = await self.journal.add_event(kind, data)
        if self.link is not None:
            await self.link.send_queued(seq)

    async def stop(self, *, close_broker: bool = True) -> None:
        self.broker.set_listener(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._events.join(), 5)  # journal what the broker pushed
        await self.tasks.cancel("broker-events")
        self.stop_event.set()
        await self.tasks.stop(grace=15)
        if close_broker:
            await self.broker.close()
        self.journal.close()

    async def crash(self) -> None:
        """Stop the way a crash would: nothing drained, in-flight commands cut off mid-call.

        For rehearsals (``aigupiao bench link --chaos``); the broker is left running, like
        a desktop client that outlives the node. What the journal holds is what a restart
        finds.
        """
        self.broker.set_listener(None)
        if self.link is not None:
            self.link.abort_inflight()
        await self.tasks.stop(grace=0)
        self.journal.close()
