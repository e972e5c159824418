"""User strategy files: loading, reloading without a restart, errors per file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aigupiao.strategy.loader import MODULE_PREFIX, UserStrategies, load_user_strategies
from aigupiao.strategy.registry import BUILTINS, StrategySet

from .build import MOUTAI, NOW, quote

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"

RULE = """
from aigupiao.domain.orders import Side
from aigupiao.strategy.base import Signal


class Rule:
    name = "{name}"

    def evaluate(self, context):
        return [Signal(q.symbol, Side.BUY, {quantity}, None, "测试 (test)")
                for q in context.quotes.values()]
"""


def _write(folder: Path, file: str, text: str) -> Path:
    path = folder / file
    path.write_text(text, encoding="utf-8")
    return path


def _context():  # type: ignore[no-untyped-def]
    from aigupiao.strategy.base import StrategyContext

    return StrategyContext(now=NOW, quotes={"sh600519": quote(MOUTAI, "10.00")}, account=None)


def test_loads_every_strategy_class_of_every_file(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", RULE.format(name="rule_a", quantity=100))
    _write(tmp_path, "b.py", RULE.format(name="rule_b", quantity=200))
    _write(tmp_path, "_helper.py", "raise RuntimeError('never imported')")
    _write(tmp_path, "notes.txt", "not python")
    strategies = load_user_strategies([tmp_path])
    assert [s.name for s in strategies] == ["rule_a", "rule_b"]
    assert [s.evaluate(_context())[0].quantity for s in strategies] == [100, 200]


def test_the_example_file_loads_and_runs() -> None:
    (strategy,) = load_user_strategies([EXAMPLES / "example_strategy.py"])
    assert strategy.name == "example_opening_gap"
    gap = quote(MOUTAI, "10.40", "10.00", open_="10.30")
    from aigupiao.strategy.base import StrategyContext

    context = StrategyContext(now=NOW, quotes={"sh600519": gap}, account=None)
    (signal,) = strategy.evaluate(context)
    assert signal.quantity == 100 and "高开 3.00%" in signal.reason


def test_reload_picks_up_changes_new_and_deleted_files(tmp_path: Path) -> None:
    path = _write(tmp_path, "rule.py", RULE.format(name="rule", quantity=100))
    user = UserStrategies([tmp_path])
    first = user.reload()
    assert first.loaded == [path.resolve()] and first.errors == []
    (old,) = user.strategies
    assert user.reload().loaded == []  # nothing changed: nothing re-imported
    assert user.strategies[0] is old
    _write(tmp_path, "rule.py", RULE.format(name="rule", quantity=300))  # same second, same size
    report = user.reload()
    assert report.loaded == [path.resolve()]
    assert user.strategies[0].evaluate(_context())[0].quantity == 300
    modules = [name for name in sys.modules if name.startswith(MODULE_PREFIX + "rule_")]
    assert len(modules) == 1  # the old module left the cache
    other = _write(tmp_path, "other.py", RULE.format(name="other", quantity=100))
    assert user.reload().loaded == [other.resolve()]
    path.unlink()
    report = user.reload()
    assert report.removed == [path.resolve()] and [s.name for s in user.strategies] == ["other"]
    assert not [name for name in sys.modules if name.startswith(MODULE_PREFIX + "rule_")]


def test_a_broken_file_is_reported_and_keeps_its_last_good_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "rule.py", RULE.format(name="rule", quantity=100))
    _write(tmp_path, "fine.py", RULE.format(name="fine", quantity=100))
    user = UserStrategies([tmp_path])
    user.reload()
    _write(tmp_path, "rule.py", "class Rule:\n    name = 'rule'\n    def evaluate(self, c)\n")
    report = user.reload()
    (error,) = report.errors
    assert error.path == path.resolve() and error.error.startswith("SyntaxError")
    assert "rule.py" in error.traceback and "line 3" in error.traceback
    assert sorted(s.name for s in report.strategies) == ["fine", "rule"]  # the old rule stays
    assert user.strategies[1].evaluate(_context())[0].quantity == 100
    again = user.reload()  # the same broken content is not imported again, still reported
    assert again.loaded == [] and len(again.errors) == 1
    _write(tmp_path, "rule.py", RULE.format(name="rule", quantity=500))
    fixed = user.reload()
    assert fixed.errors == [] and user.errors == {}


def test_an_exception_while_importing_reports_the_line(tmp_path: Path) -> None:
    _write(tmp_path, "boom.py", "x = 1\n\n\ndef f():\n    return 1 / 0\n\n\nf()\n")
    report = UserStrategies([tmp_path]).reload()
    (error,) = report.errors
    assert error.error == "ZeroDivisionError: division by zero"
    assert "line 5, in f" in error.traceback and "line 8" in error.traceback
    assert "return 1 / 0" in error.traceback
    assert "loader.py" not in error.traceback  # only the user's frames


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("X = 1\n", "no strategy class"),
        (RULE.format(name="dip_buy", quantity=100), "already taken"),
        (RULE.format(name="", quantity=100), "non-empty string name"),
        ("class Rule:\n    name = 'r'\n    def __init__(self):\n        raise ValueError('no')\n"
         "    def evaluate(self, c):\n        return []\n", "ValueError: no"),
    ],
    ids=["nothing", "builtin-name", "empty-name", "constructor-fails"],
)  # fmt: skip
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, "bad.py", text)
    report = UserStrategies([tmp_path], reserved=BUILTINS).reload()
    assert report.strategies == []
    assert message in report.errors[0].error


def test_two_files_may_not_share_a_name(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", RULE.format(name="same", quantity=100))
    _write(tmp_path, "b.py", RULE.format(name="same", quantity=100))
    report = UserStrategies([tmp_path]).reload()
    assert [s.name for s in report.strategies] == ["same"] and len(report.errors) == 1


def test_a_broken_user_file_never_touches_the_builtins(tmp_path: Path) -> None:
    strategies = StrategySet()
    _write(tmp_path, "rule.py", RULE.format(name="rule", quantity=100))
    user = UserStrategies([tmp_path], reserved=BUILTINS)
    strategies.set_user_strategies(user.reload().strategies)
    assert [s.name for s in strategies.active()] == ["dip_buy", "stop_loss", "rule"]
    _write(tmp_path, "rule.py", "this is not python")
    strategies.set_user_strategies(user.reload().strategies)
    assert [s.name for s in strategies.active()] == ["dip_buy", "stop_loss", "rule"]
    (tmp_path / "rule.py").unlink()
    strategies.set_user_strategies(user.reload().strategies)
    assert [s.name for s in strategies.active()] == ["dip_buy", "stop_loss"]


def test_missing_folders_load_nothing(tmp_path: Path) -> None:
    assert load_user_strategies([tmp_path / "missing"]) == []
