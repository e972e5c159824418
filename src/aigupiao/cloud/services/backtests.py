"""Backtests from the API: validated, stored, run in the background, cancellable.

:meth:`BacktestService.submit` checks a :class:`BacktestCreate` completely before
anything is stored (strategies and their params against the strategy registry, every
data path inside ``backtest.data_dirs``, dates, codes), so bad input is a 422 naming
what is wrong. The run is stored ``queued``; ``backtest.max_concurrent`` worker tasks
(owned by the runtime's TaskGroup) take runs in order and run the engine in a thread
of their own pool (the engine is CPU-bound and synchronous), writing its progress at
most every ``backtest.progress_interval`` seconds. The end is one conditional write:
``done`` with the whole report, or ``failed`` / ``cancelled`` with the reason, never
half a report.

Data paths: a request names files or folders relative to one of the data folders (or
absolute inside one). Each is resolved (symlinks followed) and must stay inside a data
folder and exist, so an API client can read nothing else on the server. The request is
stored as given, never the server's absolute paths.

At start, :meth:`recover` marks the runs a dead process left ``queued`` or ``running``
as ``failed`` (``interrupted``): their threads died with it. On a clean stop the
running engines are told to cancel and their runs end ``failed`` the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from aigupiao.backtest.model import (
    BacktestCancelled,
    BacktestConfig,
    BacktestInputError,
    FillModel,
    Rules,
    StrategyRun,
)
from aigupiao.backtest.params import NOT_BACKTESTABLE
from aigupiao.domain.errors import InvalidSymbol
from aigupiao.domain.symbols import parse_symbol
from aigupiao.store import AuditRepo, BacktestRecord, BacktestRepo, BacktestStatus, Database
from aigupiao.strategy.registry import BUILTINS, describe_builtins

from ..errors import InvalidRequest, NotFound, ServiceError
from ..settings import BacktestSection
from .backtest_data import DataFolders
from .backtest_runs import Run, database_market, problem, run_report
from .backtest_schemas import (
    BacktestCreate,
    BacktestOptions,
    StrategyOption,
)

log = logging.getLogger(__name__)

INTERRUPTED = {
    "code": "interrupted",
    "message": "云端重启，回测中断",
    "message_en": "interrupted by restart: the cloud stopped while this run was pending",
}


class TooManyBacktests(ServiceError):
    status = 429
    code = "too_many_backtests"


class NoReport(ServiceError):
    status = 409
    code = "no_report"


def new_id() -> str:
    return "bt_" + secrets.token_hex(10)


def _describe_validation(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in error.errors()
    )


class BacktestService:
    """Submits, runs, cancels and reads backtests.

    Args:
        db: where runs are stored.
        settings: the ``backtest`` section.
    """

    def __init__(self, db: Database, settings: BacktestSection) -> None:
        self._db, self._settings = db, settings
        self.data = DataFolders(settings.data_dirs)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._runs: dict[str, Run] = {}  # queued or running in this process
        self._pool: ThreadPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._settings.max_concurrent

    # -- validation ------------------------------------------------------------------

    def config(self, request: BacktestCreate) -> BacktestConfig:
        """The engine's config for ``request``; raises :class:`InvalidRequest` naming the
        first thing wrong."""
        runs = []
        for index, choice in enumerate(request.strategies):
            where = f"strategies.{index}"
            cls = BUILTINS.get(choice.name)
            if cls is None or choice.name in NOT_BACKTESTABLE:
                known = ", ".join(sorted(set(BUILTINS) - NOT_BACKTESTABLE))
                raise InvalidRequest(
                    f"{where}：没有可回测的策略 {choice.name}（可选：{known}）",
                    f"{where}: no backtestable strategy {choice.name} (one of: {known})",
                    code="unknown_strategy",
                )
            try:
                cls.from_config(choice.params)
            except ValidationError as exc:
                text = _describe_validation(exc)
                raise InvalidRequest(
                    f"{where}：策略 {choice.name} 的参数无效：{text}",
                    f"{where}: invalid params for strategy {choice.name}: {text}",
                    code="invalid_params",
                ) from None
            runs.append(StrategyRun(name=choice.name, params=choice.params))
        codes = []
        for code in request.codes:
            try:
                codes.append(parse_symbol(code).full)
            except InvalidSymbol as exc:
                raise InvalidRequest(
                    f"codes：{exc.message_zh}", f"codes: {exc.message_en}", code="invalid_code"
                ) from None
        benchmark = request.benchmark
        if benchmark is not None and benchmark != "buy_and_hold":
            try:
                benchmark = parse_symbol(benchmark).full
            except InvalidSymbol as exc:
                raise InvalidRequest(
                    f"benchmark：{exc.message_zh}（或 buy_and_hold）",
                    f"benchmark: {exc.message_en} (or buy_and_hold)",
                    code="invalid_benchmark",
                ) from None
        data = tuple(self.data.resolve(path, f"data.{i}") for i, path in enumerate(request.data))
        adj = request.adj_factors
        try:
            return BacktestConfig(
                strategies=tuple(runs),
                data=data,
                database_bars=request.database_bars,
                codes=tuple(codes),
                start=request.start,
                end=request.end,
                cash=request.cash,
                fill=request.fill,
                rules=request.rules,
                commission=request.commission,
                min_commission=request.min_commission,
                size=request.size,
                benchmark=benchmark,
                adj_factors=self.data.resolve(adj, "adj_factors") if adj else None,
            )
        except ValidationError as exc:
            text = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise InvalidRequest(
                f"回测设置无效：{text}", f"invalid backtest settings: {text}", code="invalid_config"
            ) from None

    def options(self) -> BacktestOptions:
        strategies = [
            StrategyOption(
                name=item["name"],
                title=item["title"],
                rule=item["rule"],
                default=item["default"],
                param_schema=item["schema"],
            )
            for item in describe_builtins()
            if item["name"] not in NOT_BACKTESTABLE
        ]
        return BacktestOptions(
            strategies=strategies,
            data_dirs=[root.name for root in self.data.roots()],
            fills=[f.value for f in FillModel],
            rules=[r.value for r in Rules],
        )

    # -- requests --------------------------------------------------------------------

    async def submit(self, request: BacktestCreate, actor: str) -> BacktestRecord:
        """Validate, store ``queued`` and queue the run.

        Raises:
            InvalidRequest: bad input (422), naming what is wrong.
            TooManyBacktests: ``backtest.max_queued`` runs are pending already (429).
        """
        self.config(request)
        if len(self._runs) >= self._settings.max_queued:
            most = self._settings.max_queued
            raise TooManyBacktests(
                f"已有 {most} 个回测在排队或运行，请稍后再试",
                f"{most} backtests are queued or running already; try again later",
            )
        backtest_id = new_id()
        async with self._db.session() as session:
            record = await BacktestRepo(session).add(
                backtest_id, request.model_dump(mode="json"), actor
            )
            strategies = [choice.name for choice in request.strategies]
            await AuditRepo(session).add(
                actor, "backtest.submit", f"backtest:{backtest_id}", {"strategies": strategies}
            )
            await session.commit()
        self._runs[backtest_id] = Run()
        self._queue.put_nowait(backtest_id)
        return record

    async def get(self, backtest_id: str) -> BacktestRecord:
        async with self._db.session() as session:
            record = await BacktestRepo(session).get(backtest_id)
        if record is None:
            raise NotFound(f"没有回测 {backtest_id}", f"no backtest {backtest_id}")
        return record

    async def page(self, limit: int, offset: int) -> tuple[list[BacktestRecord], int]:
        async with self._db.session() as session:
            repo = BacktestRepo(session)
            return await repo.page(limit=limit, offset=offset), await repo.count()

    async def report_html(self, backtest_id: str) -> str:
        async with self._db.session() as session:
            html = await BacktestRepo(session).report_html(backtest_id)
        if html is None:
            record = await self.get(backtest_id)  # 404 if there is no such run
            raise NoReport(
                f"回测 {backtest_id} 没有报告（状态 {record.status.value}）",
                f"backtest {backtest_id} has no report (it is {record.status.value})",
            )
        return html

    async def cancel(self, backtest_id: str, actor: str) -> BacktestRecord:
        """Cancel a queued run at once, or tell a running engine to stop (the run ends
        ``cancelled`` when it has). A run that has ended is answered as it is."""
        record = await self.get(backtest_id)
        if record.status.final:
            return record
        run = self._runs.get(backtest_id)
        reason = problem("cancelled", f"已被 {actor} 取消", f"cancelled by {actor}")
        if run is not None:
            run.reason = reason
            run.cancel.set()
        async with self._db.session() as session:
            if record.status is BacktestStatus.QUEUED or run is None:
                await BacktestRepo(session).end(backtest_id, BacktestStatus.CANCELLED, reason)
                self._runs.pop(backtest_id, None)
            await AuditRepo(session).add(actor, "backtest.cancel", f"backtest:{backtest_id}", {})
            await session.commit()
        return await self.get(backtest_id)

    # -- lifecycle -------------------------------------------------------------------

    async def recover(self) -> int:
        """Fail the runs a dead process left ``queued`` or ``running`` (at start)."""
        async with self._db.session() as session:
            count = await BacktestRepo(session).fail_unfinished(INTERRUPTED)
            await session.commit()
        if count:
            log.warning("%d backtest(s) interrupted by a restart marked failed", count)
        return count

    def start_pool(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="backtest")

    def shutdown(self) -> None:
        """Tell every running engine to stop (the cloud is stopping)."""
        for run in self._runs.values():
            run.shutdown = True
            run.cancel.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def work(self, stop: asyncio.Event) -> None:
        """One worker: takes queued runs in order until ``stop``."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                taking = asyncio.ensure_future(self._queue.get())
                await asyncio.wait({taking, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not taking.done():
                    taking.cancel()
                    return
                await self._run_one(taking.result(), stop)
        finally:
            stopping.cancel()

    async def _run_one(self, backtest_id: str, stop: asyncio.Event) -> None:
        run = self._runs.get(backtest_id)
        if run is None:
            return  # cancelled while queued
        try:
            async with self._db.session() as session:
                started = await BacktestRepo(session).start(backtest_id)
                await session.commit()
            if not started:
                return
            try:
                await self._run_started(backtest_id, run, stop)
            except Exception as exc:  # a database error, say: the run must not stay running
                log.exception("backtest %s could not be finished", backtest_id)
                text = f"{type(exc).__name__}: {exc}"[:500]
                async with self._db.session() as session:
                    await BacktestRepo(session).end(
                        backtest_id,
                        BacktestStatus.FAILED,
                        problem("internal", f"回测出错：{text}", f"the run failed: {text}"),
                    )
                    await session.commit()
        finally:
            self._runs.pop(backtest_id, None)

    async def _run_started(self, backtest_id: str, run: Run, stop: asyncio.Event) -> None:
        record = await self.get(backtest_id)
        loop = asyncio.get_running_loop()
        outcome: tuple[BacktestStatus, dict[str, Any]] | None = None
        try:
            config = self.config(BacktestCreate.model_validate(record.params))
        except (InvalidRequest, ValidationError) as exc:  # data gone since it was queued
            detail = exc.as_dict() if isinstance(exc, InvalidRequest) else None
            outcome = (
                BacktestStatus.FAILED,
                detail or problem("invalid_config", "回测设置无效", "invalid backtest settings"),
            )
        market = None
        if outcome is None and config.database_bars:
            try:
                market = await database_market(self._db, config)
            except BacktestInputError as exc:
                outcome = BacktestStatus.FAILED, exc.as_dict()
        if outcome is None:
            self.start_pool()
            future = loop.run_in_executor(self._pool, run_report, config, run, market)
            written = (0, 0)
            while True:
                finished, _ = await asyncio.wait({future}, timeout=self._settings.progress_interval)
                if stop.is_set():
                    run.shutdown = True
                    run.cancel.set()
                if finished:
                    break
                if (run.done, run.total) != written:
                    written = (run.done, run.total)
                    async with self._db.session() as session:
                        await BacktestRepo(session).progress(backtest_id, *written)
                        await session.commit()
            outcome = await self._store_outcome(backtest_id, run, future)
        if outcome is not None:
            status, error = outcome
            async with self._db.session() as session:
                await BacktestRepo(session).end(backtest_id, status, error)
                await session.commit()

    async def _store_outcome(
        self, backtest_id: str, run: Run, future: asyncio.Future[tuple[dict[str, Any], str]]
    ) -> tuple[BacktestStatus, dict[str, Any]] | None:
        try:
            report, html = future.result()
        except BacktestCancelled:
            if run.shutdown:
                return BacktestStatus.FAILED, INTERRUPTED
            return BacktestStatus.CANCELLED, run.reason
        except BacktestInputError as exc:
            return BacktestStatus.FAILED, exc.as_dict()
        except ValidationError as exc:
            text = _describe_validation(exc)
            return BacktestStatus.FAILED, problem(
                "invalid_config", f"回测设置无效：{text}", f"invalid backtest settings: {text}"
            )
        except Exception as exc:
            log.exception("backtest %s failed", backtest_id)
            text = f"{type(exc).__name__}: {exc}"[:500]
            return BacktestStatus.FAILED, problem(
                "engine_error", f"回测出错：{text}", f"the backtest failed: {text}"
            )
        report.pop("config", None)  # the server's absolute paths; the request is in params
        report = json.loads(self.data.hide(json.dumps(report, ensure_ascii=False)))
        async with self._db.session() as session:
            await BacktestRepo(session).finish(
                backtest_id, report, self.data.hide(html), done=run.total, total=run.total
            )
            await session.commit()
        return None
