"""Strategies: the Strategy protocol and built-in strategies.

``base`` (the interface: Signal, StrategyContext, BuiltinStrategy), ``state`` (the market
as numpy arrays, one slot per symbol), ``indicators`` and ``series`` (incremental
indicators), ``patterns`` (candlestick patterns), ``filters`` (the stock filter), one
module per built-in strategy, ``registry`` (BUILTINS, DEFAULT_SET, per-account sets) and
``loader`` (user strategy files). ``docs/strategies.md`` describes them all.
"""
