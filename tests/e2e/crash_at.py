"""``aigupiao`` that kills itself (SIGKILL) at a chosen point of storing a trade.

Usage: ``python -m tests.e2e.crash_at POINT aigupiao-arguments...`` (from the project
root). The points are watched from outside the product, through SQLAlchemy's session
events, so nothing in ``src/`` can ever trigger them:

* ``decision_written``: right after an accepted decision's INSERT ran, before its
  transaction commits;
* ``command_insert``: just before a trade command's INSERT;
* ``committed``: right after the transaction that stored a trade command committed,
  before the command is sent to the node.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

POINTS = ("decision_written", "command_insert", "committed")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    """Kill this process when ``point`` is reached."""
    if point not in POINTS:
        raise SystemExit(f"unknown point {point!r}; one of {', '.join(POINTS)}")

    @event.listens_for(Session, "do_orm_execute")
    def watch(state: ORMExecuteState) -> Any:
        if not state.is_insert:
            return None
        table = getattr(getattr(state.statement, "table", None), "name", None)
        parameters = state.parameters if isinstance(state.parameters, dict) else {}
        if table == "commands" and parameters.get("type") == "trade":
            if point == "command_insert":
                _die()
            state.session.info["trade_command"] = True
        elif table == "decisions" and parameters.get("verdict") == "accepted":
            if point == "decision_written":
                result = state.invoke_statement()
                _die()
                return result
        return None

    @event.listens_for(Session, "after_commit")
    def committed(session: Session) -> None:
        if session.info.pop("trade_command", False) and point == "committed":
            _die()


if __name__ == "__main__":
    arm(sys.argv[1])
    from aigupiao.cli import app

    app(sys.argv[2:], prog_name="aigupiao")
