"""The pre-trade risk gate."""
