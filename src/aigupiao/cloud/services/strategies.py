"""Which strategies each account runs, with what settings; the user strategy files.

:class:`StrategyBook` keeps one :class:`~aigupiao.strategy.registry.StrategySet` per
account and what the API changed, in the ``settings`` table under
``agent.strategies.<account>``::

    {"strategies": {"momentum": {"enabled": true, "paused": false, "params": {"top": 3}}}}

``params`` holds only what was changed: the rest comes from the strategy's defaults
(for ``dip_buy`` and ``stop_loss``, from the ``agent`` section of the config). A
built-in not mentioned runs if it is in :data:`~aigupiao.strategy.registry.DEFAULT_SET`;
a user strategy not mentioned runs (putting a file in ``agent.strategy_paths`` is how
one asks for it). Each account gets its own instance of a user strategy, so what it
proposed today is remembered per account, like the built-ins.

Every change through the API is validated first (a bad param changes nothing), then
stored and written to the audit log in one transaction, then applied to the live set.

The LLM strategy gets the operator's allowlist of endpoints (``agent.llm.endpoints``)
from here, never from its params: the API may only name an endpoint, which is checked
against the list; a stored param an older version accepted that only the operator may
set (``base_url``, ``api_key``, ``api_key_env``) is dropped on load, with a warning.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aigupiao.core.clock import Clock
from aigupiao.domain.sessions import BEIJING
from aigupiao.store import AuditRepo, Database, DecisionRepo, SettingRepo
from aigupiao.strategy.base import BuiltinStrategy, Strategy
from aigupiao.strategy.llm import ENDPOINTS_CONTEXT, LlmStrategy, param_schema
from aigupiao.strategy.llm_endpoint import LlmEndpoint
from aigupiao.strategy.loader import UserStrategies
from aigupiao.strategy.registry import (
    BUILTINS,
    DEFAULT_SET,
    StrategyChoice,
    StrategySet,
    StrategySetting,
    builtin_settings,
    parse_choices,
    user_instance,
)

from ..errors import InvalidRequest, NotFound

log = logging.getLogger(__name__)

SETTINGS_PREFIX = "agent.strategies."
MASK = "**********"  # how a secret param shows; sent back, it keeps the stored value
_TITLE = re.compile(r"^(?P<zh>.*?)\s*\((?P<en>[^()]*)\)\s*$")


class InvalidParams(InvalidRequest):
    """Strategy params that do not validate; ``errors`` lists each problem."""

    code = "invalid_params"

    def __init__(self, name: str, error: ValidationError | str) -> None:
        if isinstance(error, ValidationError):
            found = [([str(p) for p in e["loc"]], e["msg"], e["type"]) for e in error.errors()]
        else:
            found = [([], error, "value_error")]
        text = "; ".join(f"{'.'.join(loc) or 'params'}: {msg}" for loc, msg, _ in found)
        problems = [{"loc": loc, "msg": msg, "type": kind} for loc, msg, kind in found]
        super().__init__(
            f"策略 {name} 的参数无效：{text}", f"invalid params for strategy {name}: {text}"
        )
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "errors": self.problems}


_Choice = StrategyChoice  # what the API set for one strategy of one account


@dataclass(slots=True)
class _Account:
    strategies: StrategySet
    choices: dict[str, _Choice]
    user: dict[str, tuple[Strategy, Strategy]]  # name -> (loaded template, this account's)


def split_title(title: str) -> tuple[str, str]:
    """``"止损 (stop-loss)"`` -> ``("止损", "stop-loss")``."""
    match = _TITLE.match(title)
    if match is None:
        return title, title
    return match["zh"], match["en"]


class StrategyBook:
    """Per-account strategy sets, their stored settings, and the user strategy files.

    Args:
        db: where the settings and the audit log are.
        clock: the market clock (what "today" is, for the strategies' memory).
        defaults: base params of built-ins by name (the config's dip-buy and stop-loss).
        paths: the user strategy files or folders (``agent.strategy_paths``).
        prepare: called with every strategy created or reconfigured (registers its
            indicators with the shared market state).
        llm_endpoints: the operator's allowlist for the LLM strategy
            (``agent.llm.endpoints``); none: it stays off.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        defaults: Mapping[str, Mapping[str, Any]],
        paths: Sequence[Path],
        prepare: Callable[[Strategy], None],
        llm_endpoints: Mapping[str, LlmEndpoint] | None = None,
    ) -> None:
        self._db, self._clock = db, clock
        self._defaults = {name: dict(params) for name, params in defaults.items()}
        self._prepare_hook = prepare
        self._llm_endpoints = dict(llm_endpoints or {})
        self.user = UserStrategies(paths, reserved=BUILTINS)
        self._accounts: dict[str, _Account] = {}
        self.loaded_at: datetime | None = None

    # -- user strategy files ------------------------------------------------------------

    def load_files(self) -> dict[str, Any]:
        """(Re)load the user strategy files; every account gets the new versions."""
        report = self.user.reload()
        self.loaded_at = self._clock.now()
        for account in self._accounts.values():
            self._refresh_user(account)
        return {
            "loaded": sorted(s.name for s in report.strategies),
            "files": [str(path) for path in report.loaded],
            "removed": [str(path) for path in report.removed],
            "errors": [
                {"file": str(e.path), "error": e.error, "traceback": e.traceback}
                for e in report.errors
            ],
        }

    async def reload(self, actor: str) -> dict[str, Any]:
        """:meth:`load_files` for the API, audited."""
        result = self.load_files()
        async with self._db.session() as session:
            await AuditRepo(session).add(
                actor,
                "agent.reload",
                "strategy_files",
                {"loaded": result["loaded"], "errors": [e["file"] for e in result["errors"]]},
            )
            await session.commit()
        return result

    def load_errors(self) -> list[dict[str, Any]]:
        return [
            {"strategy": str(path), "message": error.error, "at": self.loaded_at}
            for path, error in sorted(self.user.errors.items())
        ]

    def names(self) -> list[str]:
        """Every strategy there is: the built-ins, then the loaded user strategies."""
        return [*BUILTINS, *(s.name for s in self.user.strategies)]

    # -- accounts ---------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        return sorted(self._accounts)

    def active(self, account: str) -> list[Strategy]:
        """The strategies to evaluate for ``account`` (loaded with :meth:`ensure`)."""
        known = self._accounts.get(account)
        return [] if known is None else known.strategies.active()

    def running(self) -> list[Strategy]:
        """Every strategy instance of every account (for shutdown)."""
        return [s for account in self._accounts.values() for s in account.strategies.all()]

    async def ensure(self, account: str) -> None:
        """Build ``account``'s set from its stored settings, once; the strategies that
        act once per symbol a day remember what they proposed today."""
        if account in self._accounts:
            return
        async with self._db.session() as session:
            stored = await SettingRepo(session).get(SETTINGS_PREFIX + account)
            today = self._clock.now().astimezone(BEIJING).date()
            since = datetime.combine(today, time(0), BEIJING)
            proposed = await DecisionRepo(session).proposed_since(since)
        if account in self._accounts:  # built while we were reading
            return
        choices = _parse(stored)
        for name, choice in choices.items():
            self._drop_operator_only(account, name, choice)
        strategies = StrategySet([])
        for setting in self._builtin_settings(choices):
            try:
                strategies.apply(setting)
            except (ValidationError, KeyError) as exc:  # stored by an older version
                log.warning("strategy %s of %s not started: %s", setting.name, account, exc)
        known = _Account(strategies, choices, {})
        self._refresh_user(known)
        for strategy in strategies.all():
            self._prepare(strategy)
            remember = getattr(strategy, "remember", None)
            if callable(remember):
                codes = {
                    row["symbol"]
                    for row in proposed
                    if row["account"] == account and row["strategy"] == strategy.name
                }
                remember(today, codes)
        self._accounts[account] = known

    def _drop_operator_only(self, account: str, name: str, choice: _Choice) -> None:
        """Forget stored params the API may no longer set (only the config file may)."""
        builtin = BUILTINS.get(name)
        refused = getattr(builtin.config_type, "operator_only", ()) if builtin else ()
        params = choice.params or {}
        dropped = sorted(key for key in refused if key in params)
        for key in dropped:
            del params[key]
        if dropped:
            log.warning(
                "strategy %s of %s: stored params %s ignored (only the config file sets them)",
                name, account, ", ".join(dropped),
            )  # fmt: skip

    def _prepare(self, strategy: Strategy) -> None:
        """Hand a new or reconfigured strategy what it needs before it runs."""
        if isinstance(strategy, LlmStrategy):
            strategy.use_endpoints(self._llm_endpoints)
        self._prepare_hook(strategy)

    def _builtin_settings(self, choices: Mapping[str, _Choice]) -> list[StrategySetting]:
        return builtin_settings(choices, self._defaults)

    def _refresh_user(self, account: _Account) -> None:
        """Put the loaded user strategies (new versions after a reload) into the set."""
        current: dict[str, tuple[Strategy, Strategy]] = {}
        for template in self.user.strategies:
            name = template.name
            choice = account.choices.get(name) or _Choice(enabled=True)
            if not choice.enabled:
                continue
            known = account.user.get(name)
            if known is not None and known[0] is template:
                current[name] = known
                continue
            try:
                instance = _instance(template, choice.params)
            except Exception as exc:  # user code: report, never raise
                log.warning("user strategy %s could not be created: %s", name, exc)
                continue
            self._prepare(instance)
            current[name] = (template, instance)
        account.user = current
        account.strategies.set_user_strategies([pair[1] for pair in current.values()])
        for name, choice in account.choices.items():
            if name in current and choice.paused:
                account.strategies.pause(name)
            elif name in current:
                account.strategies.resume(name)

    # -- the API ----------------------------------------------------------------------------

    async def describe(self, account: str) -> list[dict[str, Any]]:
        """Every strategy with its state and params for ``account``."""
        await self.ensure(account)
        return [self._item(account, name) for name in self.names()]

    async def update(
        self,
        account: str,
        name: str,
        *,
        enabled: bool | None,
        paused: bool | None,
        params: Mapping[str, Any] | None,
        actor: str,
    ) -> dict[str, Any]:
        """Enable, pause or configure ``name`` for ``account``; validated, stored, audited.

        Raises:
            NotFound: no strategy of that name.
            InvalidParams: the params do not validate; nothing changes.
        """
        await self.ensure(account)
        if name not in self.names():
            raise NotFound(f"没有名为 {name} 的策略", f"no strategy named {name}")
        known = self._accounts[account]
        before = known.choices.get(name)
        default_on = name in DEFAULT_SET or name not in BUILTINS
        choice = _Choice(
            enabled=before.enabled if before is not None else default_on,
            paused=before.paused if before is not None else False,
            params=dict(before.params or {}) if before is not None else {},
        )
        if enabled is not None:
            choice.enabled = enabled
        if paused is not None:
            choice.paused = paused
        if params is not None:
            merged = dict(choice.params or {})
            for key, value in params.items():
                if value == MASK and key in merged:
                    continue  # a secret shown masked and sent back: keep the stored one
                merged[key] = value
            choice.params = merged
            self._validate(name, merged)
        choices = {**known.choices, name: choice}
        async with self._db.session() as session:
            await SettingRepo(session).set(
                SETTINGS_PREFIX + account,
                {"strategies": {n: c.as_json() for n, c in sorted(choices.items())}},
            )
            await AuditRepo(session).add(
                actor,
                "agent.strategy",
                f"account:{account}/strategy:{name}",
                {
                    "enabled": enabled,
                    "paused": paused,
                    "params": _masked(dict(params)) if params is not None else None,
                },
            )
            await session.commit()
        await self._apply(known, name, choice)
        known.choices = choices
        log.warning("strategy %s of %s changed by %s", name, account, actor)
        return self._item(account, name)

    def _validate(self, name: str, params: Mapping[str, Any]) -> None:
        config_type = _config_type(self._template(name))
        if config_type is None:
            if params:
                raise InvalidParams(name, "这个策略没有参数 (this strategy takes no params)")
            return
        try:
            config_type.model_validate(
                {**self._defaults.get(name, {}), **params},
                context={ENDPOINTS_CONTEXT: self._llm_endpoints},
            )
        except ValidationError as exc:
            raise InvalidParams(name, exc) from exc

    async def _apply(self, account: _Account, name: str, choice: _Choice) -> None:
        """Make the live set match ``choice`` (already validated)."""
        old = account.strategies.get(name)
        if name in BUILTINS:
            params = {**self._defaults.get(name, {}), **(choice.params or {})}
            account.strategies.apply(
                StrategySetting(
                    name=name, enabled=choice.enabled, paused=choice.paused, config=params
                )
            )
        else:
            account.user.pop(name, None)  # re-created with the new params
            account.choices[name] = choice
            self._refresh_user(account)
        new = account.strategies.get(name)
        if new is not None:
            self._prepare(new)
        if old is not None and old is not new:
            await close_strategy(old)

    def _template(self, name: str) -> Strategy | type[BuiltinStrategy[Any]]:
        if name in BUILTINS:
            return BUILTINS[name]
        return next(s for s in self.user.strategies if s.name == name)

    def _item(self, account: str, name: str) -> dict[str, Any]:
        known = self._accounts[account]
        template = self._template(name)
        cls = template if isinstance(template, type) else type(template)
        choice = known.choices.get(name)
        live = known.strategies.get(name)
        enabled = live is not None
        paused = choice.paused if choice is not None else False
        title_text = str(getattr(cls, "title", "") or name)
        title, title_en = split_title(title_text)
        config_type = _config_type(template)
        params: dict[str, Any] = {}
        schema: dict[str, Any] = {}
        if config_type is not None:
            if issubclass(cls, LlmStrategy):
                schema = param_schema(self._llm_endpoints)  # the endpoint names to choose from
            else:
                schema = config_type.model_json_schema()
            config = getattr(live, "config", None)
            if config is None:
                merged = {**self._defaults.get(name, {}), **((choice and choice.params) or {})}
                try:
                    config = config_type.model_validate(merged)
                except ValidationError:
                    config = config_type()
            params = config.model_dump(mode="json")
        sources = self.user.sources()
        item: dict[str, Any] = {
            "name": name,
            "title": title,
            "title_en": title_en,
            "description": inspect.getdoc(cls) or "",
            "enabled": enabled,
            "paused": enabled and paused,
            "params": params,
            "param_schema": schema,
            "source": "builtin" if name in BUILTINS else str(sources.get(name, "")),
        }
        status = getattr(live, "status", None)
        if callable(status):
            item["status"] = status()
        return item

    async def aclose(self) -> None:
        for strategy in self.running():
            await close_strategy(strategy)


async def close_strategy(strategy: Strategy) -> None:
    """Let a strategy release what it holds (the LLM strategy's HTTP client and task)."""
    aclose = getattr(strategy, "aclose", None)
    if not callable(aclose):
        return
    try:
        await aclose()
    except Exception:
        log.exception("strategy %s failed to close", strategy.name)


def _config_type(template: object) -> Any:
    cls = template if isinstance(template, type) else type(template)
    if isinstance(cls, type) and issubclass(cls, BuiltinStrategy):
        return cls.config_type
    return None


_instance = user_instance
_parse = parse_choices


def _masked(params: dict[str, Any]) -> dict[str, Any]:
    """Params for the audit log: secrets never written there."""
    return {k: (MASK if "key" in k.lower() and v is not None else v) for k, v in params.items()}
