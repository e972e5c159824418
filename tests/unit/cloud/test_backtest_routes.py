"""A backtest's id is matched by its own convertor: ``/api/backtests/replay`` (and any
other word) never reaches the run routes, whichever router is included first."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from aigupiao.cloud.api.routes import backtests
from aigupiao.cloud.api.routes.backtests import BacktestIdConvertor


def _app() -> FastAPI:
    other = APIRouter()

    @other.get("/api/backtests/replay")
    async def replay() -> dict[str, str]:
        return {"route": "replay"}

    app = FastAPI()
    app.include_router(backtests.router)  # the run routes first, on purpose
    app.include_router(other)
    return app


async def test_replay_is_not_taken_for_a_run_id() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/api/backtests/replay")
        assert answer.status_code == 200 and answer.json() == {"route": "replay"}
        # a word that is not an id matches no run route at all
        assert (await client.get("/api/backtests/nope")).status_code == 404
        assert (await client.post("/api/backtests/replay/cancel")).status_code == 404


def test_the_convertor_takes_only_run_ids() -> None:
    convertor = BacktestIdConvertor()
    run_id = "bt_" + "0a" * 10
    assert convertor.to_string(run_id) == run_id
    for wrong in ("replay", "bt_123", "bt_" + "G" * 20, "bt_" + "0" * 21):
        try:
            convertor.to_string(wrong)
        except ValueError:
            continue
        raise AssertionError(f"{wrong!r} taken for a run id")
