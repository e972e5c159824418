"""Which quote feed the cloud runs: the one place that picks a concrete feed.

Each feed module is imported only when chosen, so an optional dependency of one
feed never affects the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aigupiao.cloud.settings import MarketSection
from aigupiao.core.clock import Clock, ManualClock
from aigupiao.domain.market import Quote
from aigupiao.market.feeds.base import Feed
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import SymbolInfo, default_shared_dir, load_universe

if TYPE_CHECKING:
    from aigupiao.cloud.settings import ChagubangSection
    from aigupiao.market.feeds.chagubang import ChagubangFeed
    from aigupiao.market.feeds.polling import HttpPollingFeed

FEEDS = ("sim", "replay", "chagubang", "tencent", "sina")


def build_feed(market: MarketSection, *, clock: Clock, universe: Sequence[SymbolInfo]) -> Feed:
    """The feed ``market.feed`` names, configured from its section of ``market``.

    ``replay`` drives ``clock`` when it is a :class:`ManualClock` and else a clock of
    its own (``feed.clock``): whatever should see the replayed time must use that clock.

    Raises:
        ValueError: a required key is missing (the message names it).
    """
    if market.feed == "sim":
        return SimMarket(universe, clock, seed=market.sim_seed, interval=market.sim_interval)
    if market.feed == "replay":
        return _replay(market, clock=clock, universe=universe)
    if market.feed in ("tencent", "sina"):
        return _http_poller(market, clock=clock, universe=universe)
    if market.feed == "chagubang":
        return chagubang_feed(market.chagubang, clock=clock)
    raise ValueError(f"行情源 {market.feed!r} 尚未接入 (feed {market.feed!r} is not wired yet)")


def universe_for(market: MarketSection) -> list[SymbolInfo]:
    """The symbols ``market`` asks for: ``market.symbols`` of the snapshot in
    ``market.shared_dir`` (default ``../shared``), BSE and ST included if configured."""
    return load_universe(
        market.shared_dir or default_shared_dir(),
        market.symbols,
        include_st=market.include_st,
        include_bse=market.include_bse,
    )


def _replay(market: MarketSection, *, clock: Clock, universe: Sequence[SymbolInfo]) -> Feed:
    """The ``replay`` feed from ``market.replay``."""
    from aigupiao.market.feeds.replay import ReplayFeed

    section = market.replay
    if section.path is None:
        raise ValueError(
            "行情回放需要文件或目录：请设置 market.replay.path（或环境变量 "
            "AIGUPIAO_MARKET__REPLAY__PATH），例如 ../shared/data/minute/..."
            " (the replay feed needs a file or folder: set market.replay.path)"
        )
    return ReplayFeed(
        section.path,
        section.speed,
        clock if isinstance(clock, ManualClock) else None,
        names={info.symbol.full: info.name for info in universe},
    )


def _http_poller(market: MarketSection, *, clock: Clock, universe: Sequence[SymbolInfo]) -> Feed:
    """The ``tencent`` or ``sina`` poller: ``market.<feed>.codes``, else the universe's codes."""
    feed_type: type[HttpPollingFeed]
    if market.feed == "tencent":
        from aigupiao.market.feeds.tencent import TencentFeed

        feed_type, section = TencentFeed, market.tencent
    else:
        from aigupiao.market.feeds.sina import SinaFeed

        feed_type, section = SinaFeed, market.sina
    codes = section.codes or [info.symbol.full for info in universe]
    return feed_type(codes, clock=clock, interval=section.interval, timeout=section.timeout)


def chagubang_feed(
    section: ChagubangSection,
    *,
    clock: Clock,
    on_index: Callable[[list[Quote]], None] | None = None,
) -> ChagubangFeed:
    """The chagubang push feed from ``market.chagubang``; ``on_index`` gets index quotes.

    Raises:
        ValueError: the host or the token is missing (the message names the config key).
    """
    from aigupiao.market.feeds.chagubang import ChagubangFeed

    if not section.token:
        raise ValueError(
            "茶股帮行情需要令牌：请设置 market.chagubang.token（或环境变量 "
            "AIGUPIAO_MARKET__CHAGUBANG__TOKEN）"
            " (the chagubang feed needs a token: set market.chagubang.token)"
        )
    if not section.host:
        raise ValueError(
            "茶股帮行情需要服务器地址：请设置 market.chagubang.host"
            " (the chagubang feed needs the vendor's host: set market.chagubang.host;"
            " the token goes in market.chagubang.token)"
        )
    return ChagubangFeed.from_settings(section, clock=clock, on_index=on_index)
