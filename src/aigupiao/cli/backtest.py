"""``aigupiao backtest``: run the live strategies, rules and fill model on history.

aigupiao backtest run --strategy NAME --data PATH ...   one run, a sweep (--sweep), a report
aigupiao backtest replay --account A --date D           a live day against its replay
"""

from __future__ import annotations

import typer

backtest_app = typer.Typer(help="回测 (backtesting)", no_args_is_help=True)
