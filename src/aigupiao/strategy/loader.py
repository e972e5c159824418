"""User strategies: Python files in folders given in config (``agent.strategy_paths``).

**The contract for a strategy file** (``examples/strategies/example_strategy.py`` is a
working example):

* Every public class defined in the file that has a string ``name`` and an
  ``evaluate(context) -> list[Signal]`` method is a strategy (see
  :mod:`aigupiao.strategy.base`); it is created once with no arguments
  (``from_config()`` for subclasses of ``BuiltinStrategy``, which get a typed config).
* Names are unique: a name already taken by a built-in or by another file fails the file.
* A file may import ``aigupiao`` and the standard library, nothing from other strategy
  files. Files whose name starts with ``_`` are skipped; folders are not searched
  recursively; a path may also name one file.

**Reloading.** :meth:`UserStrategies.reload` re-reads every file whose content changed,
in a fresh module (the old module leaves ``sys.modules``), adds new files and drops
strategies of deleted files. A file that fails (syntax error, an exception while
importing or creating a strategy, a bad or duplicate name) is reported with its
traceback summary; its previously loaded strategies (if any) stay in service until the
file loads again, and no other file or built-in is affected.
"""

from __future__ import annotations

import hashlib
import inspect
import linecache
import logging
import sys
import traceback
import types
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from .base import BuiltinStrategy, Strategy

log = logging.getLogger(__name__)

MODULE_PREFIX = "aigupiao_user_strategy_"


@dataclass(frozen=True, slots=True)
class LoadError:
    """Why a file did not load: the exception line and the traceback inside the file."""

    path: Path
    error: str  # e.g. "SyntaxError: invalid syntax (my_rule.py, line 3)"
    traceback: str

    def __str__(self) -> str:
        return f"策略文件加载失败 (strategy file failed) {self.path}: {self.error}"


@dataclass(slots=True)
class LoadReport:
    loaded: list[Path] = field(default_factory=list)  # (re)imported this time
    removed: list[Path] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    strategies: list[Strategy] = field(default_factory=list)  # every user strategy now


@dataclass(slots=True)
class _File:
    digest: str
    module: types.ModuleType
    strategies: list[Strategy]


class StrategyFileError(Exception):
    """A strategy file is not usable (raised inside loading, reported as LoadError)."""


class UserStrategies:
    """The user strategies of some folders; ``reload()`` brings them up to date."""

    def __init__(self, paths: Iterable[Path | str], *, reserved: Collection[str] = ()) -> None:
        self.paths = [Path(p) for p in paths]
        self.reserved = frozenset(reserved)
        self._files: dict[Path, _File] = {}
        self.errors: dict[Path, LoadError] = {}
        self._failed: dict[Path, str] = {}  # digest of content that failed

    @property
    def strategies(self) -> list[Strategy]:
        return [s for path in sorted(self._files) for s in self._files[path].strategies]

    def sources(self) -> dict[str, Path]:
        """The file each loaded user strategy comes from, by strategy name."""
        return {s.name: path for path, file in self._files.items() for s in file.strategies}

    def files(self) -> list[Path]:
        """The strategy files the paths name now, sorted."""
        found: set[Path] = set()
        for path in self.paths:
            if path.is_file() and path.suffix == ".py":
                found.add(path.resolve())
            elif path.is_dir():
                found.update(
                    p.resolve()
                    for p in path.glob("*.py")
                    if p.is_file() and not p.name.startswith("_")
                )
        return sorted(found)

    def reload(self) -> LoadReport:
        report = LoadReport()
        current = self.files()
        for path in set(self._files) - set(current):
            self._drop(path)
            report.removed.append(path)
        for path in current:
            try:
                source = path.read_bytes()
            except OSError as exc:
                self._fail(path, exc)
                continue
            digest = hashlib.sha256(source).hexdigest()
            known = self._files.get(path)
            if known is not None and known.digest == digest:
                continue
            if self._failed.get(path) == digest:
                continue  # the same broken content: reported already
            taken = self._names_taken(excluding=path)
            try:
                module, strategies = _import(path, source, taken | self.reserved)
            except Exception as exc:  # any failure of user code is reported, never raised
                self._fail(path, exc)
                self._failed[path] = digest
                continue
            self._files[path] = _File(digest, module, strategies)
            self.errors.pop(path, None)
            self._failed.pop(path, None)
            report.loaded.append(path)
        report.errors.extend(self.errors.values())
        report.strategies = self.strategies
        return report

    def _names_taken(self, *, excluding: Path) -> set[str]:
        return {s.name for p, f in self._files.items() if p != excluding for s in f.strategies}

    def _drop(self, path: Path) -> None:
        known = self._files.pop(path, None)
        if known is not None:
            sys.modules.pop(known.module.__name__, None)
        self.errors.pop(path, None)
        self._failed.pop(path, None)

    def _fail(self, path: Path, exc: BaseException) -> None:
        error = _error(path, exc)
        self.errors[path] = error
        log.warning("%s\n%s", error, error.traceback)


def load_user_strategies(
    paths: Iterable[Path | str], *, reserved: Collection[str] = ()
) -> list[Strategy]:
    """Load once (errors are logged); keep a :class:`UserStrategies` to reload later."""
    return UserStrategies(paths, reserved=reserved).reload().strategies


def _import(
    path: Path, source: bytes, taken: Collection[str]
) -> tuple[types.ModuleType, list[Strategy]]:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"{MODULE_PREFIX}{path.stem}_{digest}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    linecache.checkcache(str(path))  # tracebacks show the current text
    code = compile(
        source, str(path), "exec"
    )  # not through __pycache__: edits within a second count
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        exec(code, module.__dict__)
        strategies = _strategies(module, taken)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    return module, strategies


def _strategies(module: types.ModuleType, taken: Collection[str]) -> list[Strategy]:
    found: list[Strategy] = []
    for attribute, value in vars(module).items():
        if attribute.startswith("_") or not inspect.isclass(value):
            continue
        if value.__module__ != module.__name__ or inspect.isabstract(value):
            continue
        if not callable(getattr(value, "evaluate", None)) or not hasattr(value, "name"):
            continue
        made = value.from_config() if issubclass(value, BuiltinStrategy) else value()
        strategy = cast(Strategy, made)
        name = getattr(strategy, "name", None)
        if not isinstance(name, str) or not name:
            raise StrategyFileError(f"{attribute}: a strategy needs a non-empty string name")
        if name in taken or any(s.name == name for s in found):
            raise StrategyFileError(f"{attribute}: the name {name!r} is already taken")
        found.append(strategy)
    if not found:
        raise StrategyFileError("no strategy class in the file (a class with name and evaluate)")
    return found


def _error(path: Path, exc: BaseException) -> LoadError:
    summary = traceback.TracebackException.from_exception(exc)
    inside = [frame for frame in summary.stack if frame.filename == str(path)]
    lines = traceback.StackSummary.from_list(inside).format()
    lines.extend(summary.format_exception_only())
    message = "".join(summary.format_exception_only()).strip().splitlines()[-1]
    return LoadError(path, message, "".join(lines).rstrip())
