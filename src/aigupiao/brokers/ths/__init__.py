"""同花顺-style desktop clients through easytrader (Windows, ``pip install aigupiao[ths]``).

Importing this package needs neither easytrader nor pywinauto: they are
imported when :class:`ThsBroker` first attaches to the client.
"""

from .broker import ThsBroker

__all__ = ["ThsBroker"]
