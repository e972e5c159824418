"""Backtesting on the live code: the same strategies, risk gate, exchange rules and fill model
on history, on a simulated clock (see ``docs/backtest.md``)."""
