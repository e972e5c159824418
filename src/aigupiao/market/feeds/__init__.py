"""Quote feeds: each turns one source into batches of validated :class:`Quote` objects.

The contract is :class:`~.base.Feed`; the CLI (``cli/feeds.py``) picks one by name.
"""
