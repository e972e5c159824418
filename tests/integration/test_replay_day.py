"""Live versus backtest on a recorded day of the real system: cloud + node + paper broker
over real sockets, the simulated market on a fast trading-day clock, the agent deciding
every round. Replaying the day finds zero differences; with the node offline for a
simulated minute it finds that minute's decisions, put down to the node being offline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from aigupiao.backtest.replay import Reason, ReplayResult, replay_day
from aigupiao.brokers.paper.store import PaperStore, SavedHolding
from aigupiao.cloud.app import create_app as create_cloud_app
from aigupiao.cloud.app import server_options
from aigupiao.cloud.runtime import CloudRuntime
from aigupiao.cloud.services.rounds import replay_settings
from aigupiao.cloud.settings import CloudSettings
from aigupiao.core.clock import TradingDayClock
from aigupiao.domain.sessions import BEIJING
from aigupiao.market.sim import SimMarket
from aigupiao.market.universe import load_universe
from aigupiao.store import Database

from ..conftest import SHARED, eventually
from .stack import SIM_DAY, Stack, make_credentials, serve

REPLAY = "/api/backtests/replay"
SPEED = 30.0  # simulated seconds per real second: a simulated minute is 2 s

# A decision every round: a lot of sz000001 at market (one market buy per round passes
# the duplicate rule: rounds are 15 simulated seconds apart, the window is 10).
PULSE = '''
from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal


class Pulse:
    """每轮买入平安银行一手 (a lot of sz000001 every round)."""

    name = "pulse"

    def evaluate(self, context):
        quote = context.quotes.get("sz000001")
        if quote is None:
            return []
        return [Signal(symbol=quote.symbol, side=Side.BUY, quantity=100, price=None,
                       reason="测试 (test)")]
'''


@contextlib.asynccontextmanager
async def recorded_day(tmp: Path) -> AsyncIterator[Stack]:
    """The embedded system as ``aigupiao up`` wires it, with raw snapshots kept."""
    url = f"sqlite+aiosqlite:///{tmp / 'cloud.db'}"
    api_key, node_token = await make_credentials(url)
    strategies = tmp / "strategies"
    strategies.mkdir()
    (strategies / "pulse.py").write_text(PULSE, encoding="utf-8")
    settings = CloudSettings.load(
        None,
        database_url=url,
        var_dir=tmp,
        agent={"enabled": True, "decision_interval": 0.5, "max_position_size": "0.5",
               "strategy_paths": [str(strategies)]},
        market={"sim_interval": 0.2, "store_interval": 0.3, "keep_raw": True},
    )  # fmt: skip
    universe = load_universe(SHARED if SHARED.is_dir() else None, 50)
    clock = TradingDayClock(datetime.combine(SIM_DAY, time(9, 30), BEIJING), speed=SPEED)
    sim = SimMarket(universe, clock, seed=7, interval=0.2)
    cloud = CloudRuntime.build(
        settings, feed=sim, clock=clock, symbols=[info.as_row() for info in universe]
    )
    cloud_server = await serve(create_cloud_app(cloud), **server_options(settings.server))
    stack = Stack(cloud, None, sim, cloud_server, None, api_key, node_token, tmp)
    try:
        await eventually(lambda: "sz000001" in cloud.market.latest, timeout=10)
        await stack.start_node(paper_store=_seeded(tmp / "paper.db", stack))
        await stack.wait_online()
        yield stack
    finally:
        await stack.stop_node()
        await cloud_server.stop()


def _seeded(path: Path, stack: Stack) -> PaperStore:
    """A paper account that held 1,000 sz000001 since yesterday: the morning's state."""
    quote = stack.sim.latest("sz000001")
    assert quote is not None
    store = PaperStore(path)
    store.save(
        {"id": "paper-1", "cash": Decimal(900_000), "frozen_cash": Decimal(0), "day": SIM_DAY,
         "order_seq": 0, "trade_seq": 0, "run": "seed01"},
        holdings=[SavedHolding("sz000001", 1000, 1000, quote.last * 1000)],
    )  # fmt: skip
    return store


def _accepted(stack: Stack) -> int:
    return stack.cloud.stats.decisions_accepted


async def _trade_for(stack: Stack, seconds: float) -> None:
    """Let the day run for ``seconds`` simulated seconds."""
    until = stack.cloud.clock.now() + timedelta(seconds=seconds)
    await eventually(lambda: stack.cloud.clock.now() >= until, timeout=seconds / SPEED + 10)


async def _replay(stack: Stack) -> ReplayResult:
    db = Database(stack.cloud.settings.database_url)
    try:
        return await replay_day(db, "paper-1", SIM_DAY, replay_settings(stack.cloud.settings.agent))
    finally:
        await db.dispose()


async def test_a_clean_day_replays_with_zero_differences(tmp_path: Path) -> None:
    async with recorded_day(tmp_path) as stack, stack.client() as client:
        await eventually(lambda: _accepted(stack), timeout=10)
        await _trade_for(stack, 120)
        accepted = _accepted(stack)
        await eventually(lambda: stack.cloud.stats.fills >= accepted, timeout=10)
        await _api_answers(client)
    result = await _replay(stack)
    assert result.quote_source == "raw" and result.moments_source == "rounds"
    assert result.moments >= 8 and result.live_decisions >= 8
    assert result.differences == [], [d.as_json() for d in result.differences]
    assert result.matched == result.live_decisions == result.replay_decisions
    assert result.offline == []
    await _cli_answers(tmp_path, stack, result)


async def _api_answers(client: httpx.AsyncClient) -> None:
    """The route: the comparison, and 404/422 with their reasons."""
    answer = await client.get(REPLAY, params={"account": "paper-1", "date": str(SIM_DAY)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["account"] == "paper-1" and body["quote_source"] == "raw"
    assert body["live_decisions"] >= 1 and isinstance(body["differences"], list)
    for params, status, code in (
        ({"account": "nobody", "date": str(SIM_DAY)}, 404, "unknown_account"),
        ({"account": "paper-1", "date": "2026-11-23"}, 404, "no_data"),
        ({"account": "paper-1", "date": "2026-11-22"}, 422, "not_trading_day"),
    ):
        refused = await client.get(REPLAY, params=params)
        assert refused.status_code == status, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == code and detail["message"] and detail["message_en"]
    bad = await client.get(REPLAY, params={"account": "paper-1", "date": "24/11/2026"})
    assert bad.status_code == 422


async def _cli_answers(tmp: Path, stack: Stack, result: ReplayResult) -> None:
    """``aigupiao backtest replay``: exit 0 and the same comparison as JSON on the last line;
    bad input exit 2 with a message."""
    config = tmp / "cloud_config.json"
    config.write_text(
        json.dumps({"database_url": stack.cloud.settings.database_url, "var_dir": str(tmp),
                    "agent": {"strategy_paths": [str(tmp / "strategies")],
                              "max_position_size": "0.5"}}),
        encoding="utf-8",
    )  # fmt: skip
    base = ["backtest", "replay", "-c", str(config)]
    runs = await asyncio.gather(
        _cli(*base, "--account", "paper-1", "--date", str(SIM_DAY), "--json"),
        _cli(*base, "--account", "nobody", "--date", str(SIM_DAY)),
        _cli(*base, "--account", "paper-1", "--date", "2026-11-23"),
        _cli(*base, "--account", "paper-1", "--date", "2026-13-01"),
    )
    (code, out, err), *refusals = runs
    assert code == 0, out + err
    shown = json.loads(out.strip().splitlines()[-1])
    assert shown["differences"] == [] and shown["matched"] == result.matched
    for (code, out, err), word in zip(
        refusals, ("nobody", "2026-11-23", "2026-13-01"), strict=True
    ):
        assert code == 2, out + err
        assert "错误" in out and word in out


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aigupiao.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_node_offline_for_a_minute_is_found(tmp_path: Path) -> None:
    async with recorded_day(tmp_path) as stack:
        await eventually(lambda: _accepted(stack), timeout=10)
        await _trade_for(stack, 45)
        await stack.stop_node()
        await eventually(lambda: "local-1" not in stack.cloud.hub.links, timeout=10)
        went = stack.cloud.clock.now()
        await _trade_for(stack, 60)
        await stack.start_node(paper_store=PaperStore(tmp_path / "paper.db"))
        await stack.wait_online()
        back = stack.cloud.clock.now()
        await _trade_for(stack, 45)
    result = await _replay(stack)
    assert result.differences, "the offline minute must show"
    (span,) = result.offline
    assert went - timedelta(seconds=45) <= span[0] <= went + timedelta(seconds=45)
    assert back - timedelta(seconds=45) <= span[1] <= back + timedelta(seconds=45)
    offline = [d for d in result.differences if d.reason is Reason.NODE_OFFLINE]
    assert offline, [d.as_json() for d in result.differences]
    for difference in offline:
        assert span[0] <= difference.ts <= span[1]
        assert difference.kind in ("replay_only", "changed")
        # accepted: no node refused it here (a round right after another: a duplicate)
        assert difference.replay is not None
        assert difference.replay.accepted or difference.replay.rule == "duplicate"
        assert "节点离线" in difference.reason_zh and "offline" in difference.reason_en
    # the pulse of every offline round is there, and nothing is unexplained
    pulses = {d.ts for d in offline if d.strategy == "pulse" and d.replay and d.replay.accepted}
    assert len(pulses) >= 3
    assert all(d.root is Reason.NODE_OFFLINE for d in result.differences), [
        d.as_json() for d in result.differences
    ]
    before = [d for d in result.differences if d.ts < span[0]]
    assert before == []
