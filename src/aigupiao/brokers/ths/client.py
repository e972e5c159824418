"""The easytrader side of the 同花顺 adapter: the only module that imports easytrader.

Nothing here is imported at module load: :func:`open_client` imports
easytrader (and through it pywinauto) when the adapter first connects, on the
adapter's client thread. On a machine without them (Linux, or Windows without
``pip install aigupiao[ths]``) :func:`missing_reason` says so and the adapter
refuses to start with a message naming the extra.

What the adapter uses of easytrader (0.23.x, ``easytrader/clienttrader.py``):

==========================  ===================================================
``easytrader.use(type)``    a ``ClientTrader`` for the client type (``ths``,
                            ``universal_client``, ``ht_client``, ``gj_client``...)
``connect(exe_path)``       attach to the running, logged-in ``xiadan.exe``
``balance``                 dict of floats from the 资金股票 page
``position``                list of dicts (持仓 grid)
``today_entrusts``          list of dicts (当日委托 grid)
``today_trades``            list of dicts (当日成交 grid)
``buy/sell(code, price, n)``  ``{"entrust_no": "..."}``, or ``{"message": ...}``
                            when no number came back
``market_buy/market_sell``  the same, for market orders
``cancel_entrust(no)``      ``{"message": "..."}``
==========================  ===================================================

easytrader answers pop-ups with its own handlers, which confirm risk warnings.
:func:`guard` swaps the trader's class for a subclass that sends every pop-up
through :func:`aigupiao.brokers.ths.dialogs.handle_dialogs` instead, and that
records when the order's submit button was clicked (``submit_clicked``), so
an error before that moment means nothing was sent.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from aigupiao.domain.market import Quote
from aigupiao.domain.orders import MarketKind, OrderType, Side
from aigupiao.domain.symbols import Board

from ..base import BrokerRejected, OrderRequest
from ..precheck import star_protective_price
from .dialogs import Action, handle_dialogs

GRID_STRATEGIES = {"copy": "Copy", "wmcopy": "WMCopy", "xls": "Xls"}
# easytrader picks the 市价委托 menu entry with re.search(ttype, text); entries read like
# "1-最优五档即时成交剩余撤销", so each pattern must not match a longer entry by accident.
MARKET_KIND_MENU: dict[MarketKind, str] = {
    MarketKind.BEST5_IOC: "最优五档即时成交剩余撤销",
    MarketKind.BEST5_TO_LIMIT: "最优五档.*转限价",
    MarketKind.COUNTERPARTY_BEST: "对手方最优价格",
    MarketKind.OWN_BEST: "本方最优价格",
    MarketKind.IOC: "(?<!五档)即时成交剩余撤销",
    MarketKind.FOK: "全额成交或撤销",
}


class ThsClient(Protocol):
    """The part of easytrader's ``ClientTrader`` the adapter drives (blocking calls)."""

    submit_clicked: bool

    @property
    def balance(self) -> Any: ...

    @property
    def position(self) -> Any: ...

    @property
    def today_entrusts(self) -> Any: ...

    @property
    def today_trades(self) -> Any: ...

    def buy(self, security: str, price: float, amount: int) -> dict[str, Any]: ...

    def sell(self, security: str, price: float, amount: int) -> dict[str, Any]: ...

    def market_buy(
        self, security: str, amount: int, ttype: str | None = None, limit_price: Any = None
    ) -> dict[str, Any]: ...

    def market_sell(
        self, security: str, amount: int, ttype: str | None = None, limit_price: Any = None
    ) -> dict[str, Any]: ...

    def cancel_entrust(self, entrust_no: str) -> dict[str, Any]: ...


def missing_reason() -> str | None:
    """Why easytrader cannot drive a client on this machine, or None if it can."""
    if sys.platform != "win32":
        return "not_windows"
    if importlib.util.find_spec("easytrader") is None:
        return "not_installed"
    return None


def open_client(
    client_type: str, client_path: Path, grid_strategy: str = "copy", type_keys: bool = False
) -> ThsClient:
    """Attach easytrader to the running, logged-in client at ``client_path`` (blocking)."""
    # Only on Windows, only when connecting.
    import easytrader  # type: ignore[import-not-found,unused-ignore]
    from easytrader import grid_strategies  # type: ignore[import-not-found,unused-ignore]

    user = easytrader.use(client_type)
    guard(user)
    user.grid_strategy = getattr(grid_strategies, GRID_STRATEGIES[grid_strategy])
    if type_keys:
        user.enable_type_keys_for_editor()
    user.connect(str(client_path))
    client: ThsClient = user
    return client


def guard(user: Any) -> Any:
    """Give ``user`` (an easytrader ``ClientTrader``) aigupiao's pop-up handling."""
    user.__class__ = guarded_class(type(user))
    user.submit_clicked = False
    return user


_GUARDED: dict[type, type] = {}


def guarded_class(base: type) -> type:
    """A subclass of easytrader's trader ``base`` whose pop-ups follow aigupiao's rules."""
    if getattr(base, "_aigupiao_guarded", False):
        return base
    if base in _GUARDED:
        return _GUARDED[base]

    class Guarded(base):  # type: ignore[misc]  # a class made at run time
        _aigupiao_guarded = True
        submit_clicked = False

        def _submit_trade(self) -> None:
            # From this click on, the order may reach the broker.
            self.submit_clicked = True
            super()._submit_trade()

        def _handle_pop_dialogs(self, handler_class: Any = None) -> dict[str, str]:
            return handle_dialogs(lambda: _top_dialog(self))

        def _close_prompt_windows(self) -> None:
            # easytrader closes every dialog not titled like the main window when it
            # attaches; a login window has an empty title on some builds, and closing it
            # quits the client. Close only titled prompts (news, notices).
            self.wait(1)
            for window in self._app.windows(class_name="#32770", visible_only=True):
                title = window.window_text()
                if title and title != self._config.TITLE:
                    window.close()
                    self.wait(0.2)

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    _GUARDED[base] = Guarded
    return Guarded


def _top_dialog(trader: Any) -> _WindowDialog | None:
    """The pop-up over the main window, as easytrader finds it, or None."""
    if not trader.is_exist_pop_dialog():
        return None
    window = trader.app.top_window()
    try:
        title = str(trader._get_pop_dialog_title() or "")
    except Exception:  # some builds have no title control: read the window's own title
        title = ""
    if not title:
        try:
            title = str(window.window_text() or "")
        except Exception:
            title = ""
    return _WindowDialog(window, title)


class _WindowDialog:
    """A pywinauto window as a :class:`~aigupiao.brokers.ths.dialogs.Dialog`."""

    def __init__(self, window: Any, title: str) -> None:
        self._window = window
        self._title = title

    def title(self) -> str:
        return self._title

    def text(self) -> str:
        """Every Static text of the dialog, joined (easytrader reads only the first)."""
        try:
            parts = [
                str(child.window_text() or "").strip()
                for child in self._window.descendants(class_name="Static")
            ]
            joined = "\n".join(part for part in parts if part)
            if joined:
                return joined
        except Exception:
            pass
        try:
            return str(self._window.Static.window_text())
        except Exception:
            return ""

    def press(self, action: Action) -> None:
        if action is Action.CONFIRM:
            try:
                self._window.type_keys("%Y")  # 是(Y), as easytrader confirms
            except Exception:
                if not self._click("是"):
                    raise
        elif action is Action.ACKNOWLEDGE:
            if not self._click("确定"):
                self._window.type_keys("{ENTER}")
        elif not (self._click("否") or self._click("取消")):
            self._window.close()  # a dialog closed is a dialog declined

    def _click(self, label: str) -> bool:
        """Click the button whose text starts with ``label``; False if there is none."""
        try:
            buttons = self._window.descendants(class_name="Button")
        except Exception:
            return False
        for button in buttons:
            try:
                if str(button.window_text() or "").strip().startswith(label):
                    button.click()
                    return True
            except Exception:
                continue
        return False


def order_call(
    client: ThsClient, request: OrderRequest, quote: Quote | None
) -> Callable[[], dict[str, Any]]:
    """The easytrader call that places ``request``."""
    symbol = request.symbol
    if request.type is OrderType.LIMIT:
        assert request.price is not None
        place = client.buy if request.side is Side.BUY else client.sell
        # The prefixed code lets easytrader 0.23 pick the 上海/深圳 account itself.
        return partial(place, symbol.full, float(request.price), request.quantity)
    place_market = client.market_buy if request.side is Side.BUY else client.market_sell
    protective = star_protective_price(request, quote) if symbol.board is Board.STAR else None
    if symbol.board is Board.STAR and protective is None:
        raise BrokerRejected(
            "科创板市价委托需要保护限价，但节点没有该股行情",
            "a STAR market order needs a protective price and the node has no quote for it",
            code="no_quote",
        )
    return partial(
        place_market,
        symbol.code,
        request.quantity,
        ttype=MARKET_KIND_MENU[request.market_kind or MarketKind.BEST5_IOC],
        limit_price=None if protective is None else str(protective),
    )
