"""miniQMT through xtquant (Windows; xtquant ships with miniQMT, see docs/windows.md).

Importing this package does not need xtquant: it is imported when
:class:`QmtBroker` first connects.
"""

from .broker import QmtBroker

__all__ = ["QmtBroker"]
