"""The risk gate as the cloud runs it: persisted, audited, shared by the agent and manual orders.

What must survive a restart is kept with :class:`~aigupiao.store.SettingRepo`:

- ``risk.state``: the global and per-account trading states (who, when, from where, why);
- ``risk.limits``: limit changes made through the API, for all accounts and per account
  (on top of the defaults from the ``agent`` section of the config);
- ``risk.day_start``: each account's equity when the day began, for the daily loss limit;
- ``risk.trailing_highs``: each position's high since it was bought, for the trailing stop.

Every change of a state or a limit is written to the audit log in the same transaction.
Several cloud replicas share these rows: each reloads states and limits at most
``refresh`` seconds after another replica changed them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aigupiao.core.clock import Clock
from aigupiao.domain.account import Account
from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.risk import (
    ExitSignal,
    LimitProblem,
    OpenOrders,
    RiskGate,
    RiskLimits,
    RiskVerdict,
    StateRecord,
    TradingState,
)
from aigupiao.risk.daily import DayStart
from aigupiao.risk.stops import StopBook
from aigupiao.store import AuditRepo, Database, SettingRepo

from ..errors import InvalidRequest

log = logging.getLogger(__name__)

STATE_KEY = "risk.state"
LIMITS_KEY = "risk.limits"
DAY_START_KEY = "risk.day_start"
HIGHS_KEY = "risk.trailing_highs"

HIGHS_SAVE_EVERY = 5.0  # seconds: trailing highs move with every quote


class InvalidLimits(InvalidRequest):
    """Risk limits out of range; ``errors`` lists each with its reason."""

    code = "invalid_limits"

    def __init__(self, problems: list[LimitProblem]) -> None:
        super().__init__(
            "风控参数无效：" + "；".join(p.message_zh for p in problems),
            "invalid risk limits: " + "; ".join(p.message_en for p in problems),
        )
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "errors": [p.as_dict() for p in self.problems]}


class RiskService:
    """The gate with its persistence.

    Args:
        db: where states, limits and the day's figures are kept.
        defaults: the limits of every account without changes of its own (from config).
        wall_clock: the time stamped on state changes (market time comes with each order).
        refresh: seconds before states and limits are read again (other replicas).
    """

    def __init__(
        self,
        db: Database,
        defaults: RiskLimits,
        *,
        wall_clock: Clock | None = None,
        refresh: float = 1.0,
    ) -> None:
        self._db = db
        self._defaults = defaults
        self._wall = wall_clock
        self._refresh = refresh
        self.gate = RiskGate(defaults)
        self._changes: dict[str, Any] = {"default": {}, "accounts": {}}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._highs_dirty = False
        self._highs_saved_at = 0.0

    # -- loading ------------------------------------------------------------------------

    async def load(self) -> None:
        """Read everything persisted (at start)."""
        async with self._db.session() as session:
            repo = SettingRepo(session)
            states, limits = await repo.get(STATE_KEY), await repo.get(LIMITS_KEY)
            starts, highs = await repo.get(DAY_START_KEY), await repo.get(HIGHS_KEY)
        self._apply_states(states)
        self._apply_limits(limits)
        for account_id, start in (starts or {}).items():
            self.gate.day_starts[account_id] = DayStart(
                date.fromisoformat(start["day"]), Decimal(start["equity"])
            )
        for account_id, book in (highs or {}).items():
            self.gate.stops[account_id] = StopBook(
                {code: Decimal(high) for code, high in book.items()}
            )
        self._loaded_at = time.monotonic()
        if self.gate.global_state.state is not TradingState.ACTIVE:
            log.warning(
                "trading is %s (global): %s",
                self.gate.global_state.state,
                self.gate.global_state.reason,
            )

    async def _reload(self) -> None:
        if time.monotonic() - self._loaded_at < self._refresh:
            return
        async with self._db.session() as session:
            repo = SettingRepo(session)
            states, limits = await repo.get(STATE_KEY), await repo.get(LIMITS_KEY)
        self._apply_states(states)
        self._apply_limits(limits)
        self._loaded_at = time.monotonic()

    def _apply_states(self, stored: dict[str, Any] | None) -> None:
        stored = stored or {}
        if stored.get("global"):
            self.gate.global_state = StateRecord.from_dict(stored["global"])
        self.gate.account_states = {
            account_id: StateRecord.from_dict(record)
            for account_id, record in (stored.get("accounts") or {}).items()
        }

    def _apply_limits(self, stored: dict[str, Any] | None) -> None:
        stored = stored or {}
        self._changes = {
            "default": dict(stored.get("default") or {}),
            "accounts": {k: dict(v) for k, v in (stored.get("accounts") or {}).items()},
        }
        default, problems = self._defaults.updated(self._changes["default"])
        if problems:  # written by an older version, or by hand: keep the config's
            log.warning("stored default risk limits ignored: %s", problems)
            default = self._defaults
        self.gate.limits = default
        self.gate.account_limits = {}
        for account_id, changes in self._changes["accounts"].items():
            limits, problems = default.updated(changes)
            if problems:
                log.warning("stored risk limits of %s ignored: %s", account_id, problems)
                continue
            self.gate.account_limits[account_id] = limits

    def _now(self) -> datetime:
        return self._wall.now() if self._wall is not None else datetime.now(UTC)

    # -- trading states -------------------------------------------------------------------

    def describe_states(self, account: str | None = None) -> dict[str, Any]:
        """Global and per-account states; with ``account``, also the one its orders obey."""
        answer: dict[str, Any] = {
            "global": self.gate.global_state.as_dict(),
            "accounts": {k: v.as_dict() for k, v in sorted(self.gate.account_states.items())},
        }
        if account is not None:
            answer["account"] = account
            answer["effective"] = self.gate.state_for(account).as_dict()
        return answer

    async def set_state(
        self,
        state: TradingState,
        *,
        account: str | None,
        reason: str,
        actor: str,
        source: str,
    ) -> dict[str, Any]:
        """Change the global (``account`` None) or an account's trading state, at once.

        Persisted and audited in one transaction before it takes effect."""
        async with self._lock:
            await self._reload_now()
            before = (
                self.gate.global_state
                if account is None
                else self.gate.account_states.get(account, StateRecord())
            )
            after = before.with_state(
                state, reason=reason, actor=actor, source=source, at=self._now()
            )
            await self._store_state(account, before, after)
            self.gate.set_state(account, after)
        log.warning(
            "trading state %s -> %s (%s) by %s from %s: %s",
            before.state,
            state,
            account or "global",
            actor,
            source,
            reason,
        )
        return self.describe_states(account)

    async def _store_state(
        self, account: str | None, before: StateRecord, after: StateRecord
    ) -> None:
        async with self._db.session() as session:
            repo = SettingRepo(session)
            stored = await repo.get(STATE_KEY) or {}
            accounts = dict(stored.get("accounts") or {})
            if account is None:
                stored = {**stored, "global": after.as_dict()}
            else:
                accounts[account] = after.as_dict()
            stored = {**stored, "accounts": accounts}
            await repo.set(STATE_KEY, stored)
            await AuditRepo(session, clock=self._wall).add(
                after.actor,
                "risk.state",
                f"account:{account}" if account else "global",
                {
                    "from": before.state.value,
                    "to": after.state.value,
                    "reason": after.reason,
                    "source": after.source,
                },
            )
            await session.commit()
        self._loaded_at = time.monotonic()

    async def _reload_now(self) -> None:
        self._loaded_at = 0.0
        await self._reload()

    # -- limits ---------------------------------------------------------------------------

    def describe_limits(self, account: str | None = None) -> dict[str, Any]:
        """The limits in force (for ``account``, or the default), what changed them, and
        the config's defaults."""
        limits = self.gate.limits_for(account) if account else self.gate.limits
        changes = (
            self._changes["accounts"].get(account, {}) if account else self._changes["default"]
        )
        return {
            "account": account,
            "limits": limits.as_dict(),
            "changes": dict(changes),
            "defaults": self._defaults.as_dict(),
        }

    async def set_limits(
        self,
        changes: Mapping[str, Any],
        *,
        account: str | None,
        actor: str,
        source: str,
        reset: bool = False,
    ) -> dict[str, Any]:
        """Change limits for ``account`` (or the default of all accounts).

        ``reset`` first drops earlier changes (back to the config's values).

        Raises:
            InvalidLimits: a name is unknown or a value out of range; nothing changes.
        """
        async with self._lock:
            await self._reload_now()
            scope = (
                self._changes["accounts"].get(account, {}) if account else self._changes["default"]
            )
            merged = {**({} if reset else scope), **changes}
            base = self.gate.limits if account else self._defaults
            limits, problems = base.updated(merged)
            if problems:
                raise InvalidLimits(problems)
            merged = {name: value for name, value in limits.as_dict().items() if name in merged}
            stored = {
                "default": dict(self._changes["default"]),
                "accounts": dict(self._changes["accounts"]),
            }
            if account:
                stored["accounts"][account] = merged
            else:
                stored["default"] = merged
            async with self._db.session() as session:
                await SettingRepo(session).set(LIMITS_KEY, stored)
                await AuditRepo(session, clock=self._wall).add(
                    actor,
                    "risk.limits",
                    f"account:{account}" if account else "default",
                    {"changes": dict(changes), "reset": reset, "source": source},
                )
                await session.commit()
            self._apply_limits(stored)
            self._loaded_at = time.monotonic()
        log.warning("risk limits of %s changed by %s: %s", account or "default", actor, changes)
        return self.describe_limits(account)

    # -- orders ---------------------------------------------------------------------------

    async def check(
        self,
        *,
        account_id: str,
        account: Account | None,
        side: Side,
        quantity: int,
        price: Decimal | None,
        quote: Quote | None,
        quotes: Mapping[str, Quote],
        now: datetime,
        client_order_id: str | None = None,
        pending: OpenOrders | None = None,
    ) -> RiskVerdict:
        """The gate's verdict on one order, with the account's latest state taken in first
        (the daily loss limit may turn it to REDUCING, persisted and audited). ``pending``:
        the account's open orders (:meth:`RiskGate.check`)."""
        await self._reload()
        if account is not None:
            await self._observe(account_id, account, quotes, now)
        return self.gate.check(
            side=side,
            quantity=quantity,
            price=price,
            quote=quote,
            account=account,
            now=now,
            account_id=account_id,
            quotes=quotes,
            client_order_id=client_order_id,
            pending=pending,
        )

    async def exits(
        self,
        account_id: str,
        account: Account | None,
        quotes: Mapping[str, Quote],
        now: datetime,
        pending: OpenOrders | None = None,
    ) -> list[ExitSignal]:
        """The stop-loss and trailing-stop sells due now, of the shares no open sell holds
        (each still passes :meth:`check`)."""
        if account is None:
            return []
        await self._reload()
        await self._observe(account_id, account, quotes, now)
        return self.gate.exits(account_id, account, quotes, now, pending)

    async def _observe(
        self, account_id: str, account: Account, quotes: Mapping[str, Quote], now: datetime
    ) -> None:
        seen = self.gate.observe(account_id, account, quotes, now)
        if seen.state_change is not None:
            before, after = seen.state_change
            log.warning("account %s turned %s: %s", account_id, after.state, after.reason)
            await self._store_state(account_id, before, after)
        if seen.day_started is not None:
            await self._store_day_starts()
        self._highs_dirty |= seen.highs_changed
        if self._highs_dirty and time.monotonic() - self._highs_saved_at >= HIGHS_SAVE_EVERY:
            await self.flush()

    async def _store_day_starts(self) -> None:
        value = {
            account_id: {"day": start.day.isoformat(), "equity": str(start.equity)}
            for account_id, start in self.gate.day_starts.items()
        }
        async with self._db.session() as session:
            await SettingRepo(session).set(DAY_START_KEY, value)
            await session.commit()

    async def flush(self) -> None:
        """Write the trailing-stop highs if they changed."""
        if not self._highs_dirty:
            return
        self._highs_dirty = False
        self._highs_saved_at = time.monotonic()
        value = {
            account_id: {code: str(high) for code, high in book.highs.items()}
            for account_id, book in self.gate.stops.items()
        }
        async with self._db.session() as session:
            await SettingRepo(session).set(HIGHS_KEY, value)
            await session.commit()
