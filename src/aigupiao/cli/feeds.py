"""Which quote feed the cloud runs: the one place that picks a concrete feed.

Each feed module is imported only when chosen, so an optional dependency of one
feed never affects the others.
"""

from __future__ import annotations

from collections.abc import Sequence

from aigupiao.cloud.settings import MarketSection
from aigupiao.core.clock import Clock
from aigupiao.market.feeds.base import Feed
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import SymbolInfo

FEEDS = ("sim", "replay", "chagubang", "tencent", "sina")


def build_feed(market: MarketSection, *, clock: Clock, universe: Sequence[SymbolInfo]) -> Feed:
    """The feed ``market.feed`` names, configured from its section of ``market``."""
    if market.feed == "sim":
        return SimMarket(universe, clock, seed=market.sim_seed, interval=market.sim_interval)
    raise ValueError(f"行情源 {market.feed!r} 尚未接入 (feed {market.feed!r} is not wired yet)")
