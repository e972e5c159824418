"""Everything one local node runs: journal, broker, executor and the cloud link."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aigupiao.brokers.base import Broker
from aigupiao.core.lifecycle import TaskGroup

from .executor import Executor
from .journal import Journal
from .link import CloudLink
from .settings import LocalSettings

log = logging.getLogger(__name__)


@dataclass
class LocalRuntime:
    settings: LocalSettings
    broker: Broker
    journal: Journal
    executor: Executor
    link: CloudLink | None
    tasks: TaskGroup = field(default_factory=lambda: TaskGroup("local"))
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, settings: LocalSettings, broker: Broker) -> LocalRuntime:
        journal = Journal(settings.node.data_dir / "journal.db")
        executor = Executor(broker, journal, broker_timeout=settings.trading.broker_timeout)
        link = None
        if settings.cloud.token:
            link = CloudLink(
                url=settings.cloud.websocket_url,
                token=settings.cloud.token,
                node_id=settings.node.id,
                account=settings.node.account,
                executor=executor,
                journal=journal,
            )
        else:
            log.warning("no cloud.token configured: running without the cloud link")
        return cls(settings=settings, broker=broker, journal=journal, executor=executor, link=link)

    async def start(self) -> None:
        resolved = await self.executor.resolve_interrupted()
        if resolved:
            log.warning("resolved %d command(s) interrupted by the last stop", len(resolved))
        if self.link is not None:
            self.tasks.start("cloud-link", self.link.run(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        await self.tasks.stop(grace=15)
        await self.broker.close()
        self.journal.close()
