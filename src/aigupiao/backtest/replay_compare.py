"""Comparing a replayed moment with what live decided there, and why they differ.

:class:`Comparison` is the comparing half of the replay (a mixin of its run): the live
decisions of a moment are paired with the replayed ones by strategy, code and side; a pair
made alike is matched (and if live's broker did not carry out the order, the replay's own
broker does: a cause for later differences); anything else is a :class:`Difference` with its
nearest known reason and the first cause of its chain, and takes the live order out of, or
puts the replay's own order into, the account the replay decides on from then on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from aigupiao.domain.market import Quote
from aigupiao.domain.orders import Side
from aigupiao.domain.sessions import BEIJING
from aigupiao.domain.symbols import Symbol

from .replay_book import ReplayOrder
from .replay_facts import DayFacts, LiveDecision, Round
from .replay_model import DecisionView, Difference, Reason
from .replay_quotes import StoredQuote

NODE_OFFLINE = "node_offline"  # the pipeline's rule for an accepted decision it could not send
_BROKER_REFUSED = {"rejected", "failed", "expired"}


@dataclass(frozen=True, slots=True)
class Decided:
    code: str
    symbol: Symbol
    view: DecisionView


@dataclass(frozen=True, slots=True)
class Cause:
    ts: datetime
    code: str
    reason: Reason
    zh: str
    en: str
    root: Reason


class Comparison:
    """The comparing half of the replay's run (see the module docstring)."""

    facts: DayFacts
    account_id: str
    moments: list[Round]
    orders: list[ReplayOrder]
    excluded: set[str]  # live commands the replay did not place as live did
    causes: list[Cause]
    differences: list[Difference]
    matched: int

    def _compare(
        self,
        moment: Round,
        traded: bool,
        decided: list[Decided],
        live: list[LiveDecision],
        late: Mapping[str, StoredQuote],
        quotes: Mapping[str, Quote],
    ) -> None:
        replayed: dict[tuple[str, str, str], list[Decided]] = defaultdict(list)
        for item in decided:
            replayed[(item.view.strategy, item.code, item.view.side)].append(item)
        found: list[tuple[LiveDecision | None, Decided | None]] = []
        for decision in live:
            key = (decision.strategy, decision.code, decision.side)
            mine = replayed.get(key)
            found.append((decision, mine.pop(0) if mine else None))
        for items in replayed.values():
            found.extend((None, item) for item in items)
        new_causes: list[Cause] = []
        for live_decision, replayed_item in found:
            new_causes += self._pair(moment, traded, live_decision, replayed_item, late, quotes)
        self.causes.extend(new_causes)

    def _pair(
        self,
        moment: Round,
        traded: bool,
        decision: LiveDecision | None,
        item: Decided | None,
        late: Mapping[str, StoredQuote],
        quotes: Mapping[str, Quote],
    ) -> list[Cause]:
        """One live decision and its replayed counterpart (either may be missing)."""
        live_view = None if decision is None else _view(decision)
        replay_view = None if item is None else item.view
        fields = _fields(live_view, replay_view)
        if not fields:
            assert decision is not None and item is not None
            self.matched += 1
            cause = self._settle(decision, item, moment, quotes)
            return [] if cause is None else [cause]
        if decision is not None:
            code, strategy = decision.code, decision.strategy
        else:
            assert item is not None
            code, strategy = item.code, item.view.strategy
        if decision is not None and item is not None:
            kind = "changed"
        else:
            kind = "live_only" if decision is not None else "replay_only"
        reason, zh, en, root = self._reason(moment, traded, code, live_view, replay_view, late)
        difference = Difference(moment.ts, code, strategy, kind, live_view, replay_view,
                                fields, reason, zh, en, root)  # fmt: skip
        self.differences.append(difference)
        causes = [Cause(moment.ts, code, reason, zh, en, root)]
        if decision is not None and decision.accepted and decision.command_id:
            fill = self._exclude(decision, moment, root)
            if fill is not None:  # the nearer cause of what follows on this code
                causes.append(fill)
        if item is not None and item.view.accepted:
            self._place(item, moment.ts)
        return causes

    def _settle(
        self, decision: LiveDecision, item: Decided, moment: Round, quotes: Mapping[str, Quote]
    ) -> Cause | None:
        """A decision made alike: if live's broker did not carry out the order, the
        replay's does (and that is a cause for what differs later)."""
        if not decision.accepted or decision.command_id is None:
            return None
        command = self.facts.commands.get(decision.command_id)
        if command is None:
            return None
        refused = command.status in _BROKER_REFUSED or command.order_status == "rejected"
        unknown = command.status == "unknown"
        if not refused and not unknown:
            return None
        self.excluded.add(command.id)
        self._place(item, moment.ts)
        at = f"{decision.ts.astimezone(BEIJING):%H:%M:%S}"
        order = f"{command.code} {command.side} {command.quantity}"
        if refused:
            why = command.message or command.result_code or command.status
            return Cause(moment.ts, item.code, Reason.BROKER_REFUSED,
                          f"实盘 {at} 的委托（{order}）被拒绝或失败：{why}；回放中它已成交",
                          f"the live order of {at} ({order}) was refused or failed: {why}; "
                          "in the replay it filled", Reason.BROKER_REFUSED)  # fmt: skip
        return Cause(moment.ts, item.code, Reason.COMMAND_UNKNOWN,
                      f"实盘 {at} 的委托（{order}）结果未知；回放中它已成交",
                      f"the outcome of the live order of {at} ({order}) stayed unknown; in the "
                      "replay it filled", Reason.COMMAND_UNKNOWN)  # fmt: skip

    def _exclude(self, decision: LiveDecision, moment: Round, root: Reason) -> Cause | None:
        """Take a live order the replay did not place out of its account; a fill at another
        price than the replay's own order of the same code and side is a cause (of the
        same root as the difference that took it out)."""
        assert decision.command_id is not None
        self.excluded.add(decision.command_id)
        command = self.facts.commands.get(decision.command_id)
        if command is None or not command.fills:
            return None
        live_price = sum((f.amount for f in command.fills), Decimal(0)) / sum(
            f.quantity for f in command.fills
        )
        for order in self.orders:
            same = order.symbol.full == command.code and order.side.value == command.side
            if same and order.fill_price is not None and order.fill_price != live_price:
                live_text = f"{live_price:.4f}".rstrip("0").rstrip(".")
                return Cause(
                    moment.ts, command.code, Reason.FILL_PRICE,
                    f"{command.code} 实盘成交价 {live_text}，回放成交价 {order.fill_price}",
                    f"{command.code} filled at {live_text} live and at {order.fill_price} in "
                    "the replay", root,
                )  # fmt: skip
        return None

    def _place(self, item: Decided, now: datetime) -> None:
        view = item.view
        self.orders.append(
            ReplayOrder(item.symbol, Side(view.side), view.quantity, view.price, now)
        )

    def _reason(
        self,
        moment: Round,
        traded: bool,
        code: str,
        live: DecisionView | None,
        replay: DecisionView | None,
        late: Mapping[str, StoredQuote],
    ) -> tuple[Reason, str, str, Reason]:
        if live is not None and live.rule == NODE_OFFLINE:
            return (Reason.NODE_OFFLINE, "节点离线：实盘拒绝了该决策（node_offline）",
                    "the node was offline: live refused this decision (node_offline)",
                    Reason.NODE_OFFLINE)  # fmt: skip
        if not traded and moment.recorded:
            start, end = self._offline_around(moment)
            span = f"{start.astimezone(BEIJING):%H:%M:%S}–{end.astimezone(BEIJING):%H:%M:%S}"
            return (Reason.NODE_OFFLINE, f"节点离线（{span}），实盘代理未为该账户决策",
                    f"the node was offline ({span}): the live agent did not decide for this "
                    "account", Reason.NODE_OFFLINE)  # fmt: skip
        stored = late.get(code)
        if stored is not None and stored.received_at is not None:
            assert moment.wall_at is not None
            after = (stored.received_at - moment.wall_at).total_seconds()
            at = f"{stored.quote.ts.astimezone(BEIJING):%H:%M:%S}"
            return (Reason.LATE_QUOTE,
                    f"行情迟到：{code} {at} 的行情在实盘决策后 {after:.1f} 秒才到达",
                    f"a late quote: the {at} quote of {code} arrived {after:.1f} s after live "
                    "decided", Reason.LATE_QUOTE)  # fmt: skip
        earlier = [c for c in self.causes if c.ts < moment.ts]
        same_code = [c for c in earlier if c.code == code]  # the nearest: the latest
        cause = same_code[-1] if same_code else (earlier[-1] if earlier else None)
        if cause is not None:
            at = f"{cause.ts.astimezone(BEIJING):%H:%M:%S}"
            if cause.reason in (Reason.BROKER_REFUSED, Reason.COMMAND_UNKNOWN,
                                Reason.FILL_PRICE):  # fmt: skip
                return cause.reason, cause.zh, cause.en, cause.root
            return (Reason.FOLLOWS, f"由 {at} {cause.code} 的差异引起：{cause.zh}",
                    f"follows the difference at {at} ({cause.code}): {cause.en}",
                    cause.root)  # fmt: skip
        if (
            live is not None
            and replay is not None
            and (live.accepted != replay.accepted or live.rule != replay.rule)
        ):
            live_rule = live.rule or "接受 accepted"
            replay_rule = replay.rule or "接受 accepted"
            return (Reason.GATE, f"风控结论不同：实盘 {live_rule}，回放 {replay_rule}",
                    f"the risk gate judged differently: live {live_rule}, replay "
                    f"{replay_rule}", Reason.GATE)  # fmt: skip
        if self.facts.quote_source == "bars":
            return (Reason.COARSE_QUOTES,
                    "只存了 1 分钟K线（未开启 market.keep_raw），回放看到的行情比实盘粗",
                    "only 1-minute bars were stored (market.keep_raw off): the replay saw "
                    "coarser quotes than live", Reason.COARSE_QUOTES)  # fmt: skip
        return (Reason.UNKNOWN, "原因未知：同样的输入得出不同的决策（策略代码或设置可能已改变）",
                "reason unknown: the same inputs gave another decision (the strategy code or "
                "settings may have changed)", Reason.UNKNOWN)  # fmt: skip

    def _offline_around(self, moment: Round) -> tuple[datetime, datetime]:
        for start, end in self.offline():
            if start <= moment.ts <= end:
                return start, end
        return moment.ts, moment.ts

    def offline(self) -> list[tuple[datetime, datetime]]:
        """The spans of recorded rounds in which live did not trade the account: from the
        first such round to the next round that traded it (or the last round)."""
        spans: list[tuple[datetime, datetime]] = []
        start: datetime | None = None
        for moment in self.moments:
            if not moment.recorded:
                continue
            if self.account_id not in moment.accounts:
                start = start or moment.ts
            elif start is not None:
                spans.append((start, moment.ts))
                start = None
        if start is not None:
            spans.append((start, self.moments[-1].ts))
        return spans


def _view(decision: LiveDecision) -> DecisionView:
    return DecisionView(
        decision.strategy, decision.side, decision.quantity, decision.price,
        decision.accepted, decision.rule, decision.message, decision.id,
    )  # fmt: skip


def _fields(live: DecisionView | None, replay: DecisionView | None) -> tuple[str, ...]:
    if live is None or replay is None:
        return ("decision",)
    names = ("quantity", "price", "accepted", "rule")
    return tuple(name for name in names if getattr(live, name) != getattr(replay, name))
