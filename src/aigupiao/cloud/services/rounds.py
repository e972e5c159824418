"""The agent's rounds, recorded so a live day can be replayed exactly (``agent_rounds``).

A round is recorded just before the strategies run, with nothing awaited in between:
its market time, the wall-clock time (the quotes the strategies had seen are the raw
snapshots received up to then), the run (one id per process: the life of the agent's
market state), what woke it, and per account traded the snapshot the risk gate and the
strategies were given. An account's snapshot is written in full at its first round of a
day, whenever the ledger holds a new one and while a write is under way, else ``"same"``.

Recording costs the agent a dict per round; rows are written by :meth:`RoundLog.flush`,
which the runner calls after each round. At most ``max_pending`` rounds wait (the oldest
are dropped and counted, and every account is written in full again, so a later round
never points to a row that was lost). Rounds older than ``retention_days`` (market time)
are deleted once a day.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aigupiao.backtest.replay import ReplaySettings
from aigupiao.core.logging import QuietLog
from aigupiao.domain.account import Account
from aigupiao.domain.sessions import BEIJING
from aigupiao.protocol.codec import account_to_dict
from aigupiao.risk import LIMIT_NAMES, RiskLimits
from aigupiao.store import Database
from aigupiao.store.repositories.rounds import AgentRoundRepo

from ..settings import AgentSection

log = logging.getLogger(__name__)

SAME = "same"  # the account snapshot is the one of the account's previous round
RETENTION_DAYS = 60
MAX_PENDING = 10_000


class RoundLog:
    """Rounds waiting to be written, and what each account's last written snapshot was."""

    def __init__(
        self,
        db: Database,
        *,
        retention_days: int = RETENTION_DAYS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._db = db
        self._retention = timedelta(days=retention_days)
        self._pending: deque[dict[str, Any]] = deque()
        self._max_pending = max_pending
        self._last: dict[str, Account | None] = {}  # per account: the snapshot last recorded
        self._day: date | None = None
        self._writing = False
        self._pruned: date | None = None
        self._quiet = QuietLog(log)
        self.run = uuid.uuid4().hex  # this process's: its rounds share one market state
        self.recorded = 0
        self.dropped = 0
        self.errors = 0

    def record(self, now: datetime, trigger: str, accounts: Mapping[str, Account | None]) -> None:
        """One round at market time ``now`` (call it right before the strategies run)."""
        wall = datetime.now(UTC)
        day = now.astimezone(BEIJING).date()
        if day != self._day:  # each day's rows stand on their own
            self._day = day
            self._last.clear()
        entry: dict[str, Any] = {}
        for account_id, account in accounts.items():
            # while a write is under way its rows may yet be lost: refer to none of them
            if not self._writing and account_id in self._last and self._last[account_id] is account:
                entry[account_id] = SAME
            else:
                entry[account_id] = None if account is None else account_to_dict(account)
                self._last[account_id] = account
        self._pending.append(
            {"ts": now, "wall_at": wall, "run": self.run, "trigger": trigger, "accounts": entry}
        )
        self.recorded += 1
        if len(self._pending) > self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            self._last.clear()

    async def flush(self) -> int:
        """Write the rounds waiting (and, once a day, delete the old ones)."""
        if not self._pending:
            return 0
        rows = list(self._pending)
        self._pending.clear()
        self._writing = True
        try:
            async with self._db.session() as session:
                repo = AgentRoundRepo(session)
                await repo.add_many(rows)
                if self._day is not None and self._pruned != self._day:
                    cutoff = datetime.combine(self._day, datetime.min.time(), BEIJING)
                    await repo.delete_before(cutoff - self._retention)
                    self._pruned = self._day
                await session.commit()
        except Exception as exc:  # the agent must go on; the next rounds write in full
            self.errors += 1
            self.dropped += len(rows)
            self._last.clear()
            self._quiet.warning(
                type(exc).__name__, "agent rounds not recorded (%d lost): %s", len(rows), exc
            )
            return 0
        finally:
            self._writing = False
        return len(rows)

    def status(self) -> dict[str, int]:
        return {"recorded": self.recorded, "dropped": self.dropped, "errors": self.errors,
                "pending": len(self._pending)}  # fmt: skip


def replay_settings(agent: AgentSection) -> ReplaySettings:
    """What the replay takes from the config: what the live agent takes from it (the
    built-ins' base params, the user strategy files, the default risk limits)."""
    return ReplaySettings(
        strategy_defaults={
            "dip_buy": {"threshold": agent.dip_threshold, "quantity": agent.dip_quantity},
            "stop_loss": {"risk_threshold": agent.risk_threshold},
        },
        strategy_paths=tuple(agent.strategy_paths),
        risk_limits=RiskLimits(**{name: getattr(agent, name) for name in LIMIT_NAMES}),
    )
