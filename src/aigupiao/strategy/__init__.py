"""Strategies: the Strategy protocol and built-in strategies."""
