"""The errors a live adapter raises when the machine cannot run its client library."""

from __future__ import annotations

from .base import BrokerUnavailable

_NEEDS = {
    "ths": (
        "同花顺适配器（easytrader + pywinauto）只能在 Windows 上运行："
        '请在 Windows 的 64 位 Python 中执行 pip install "aigupiao[ths]"，'
        "并打开、登录同花顺/券商下单程序 xiadan.exe。见 docs/windows.md",
        "the ths broker (easytrader + pywinauto) runs on Windows only: in a 64-bit Python on "
        'Windows run pip install "aigupiao[ths]" and start and log in to the broker\'s xiadan.exe. '
        "See docs/windows.md",
    ),
    "qmt": (
        "miniQMT 适配器需要 Windows 和 xtquant：xtquant 不在 PyPI 上，随券商的 miniQMT 客户端提供；"
        '请执行 pip install "aigupiao[qmt]"，再把 xtquant 所在目录加入 PYTHONPATH（或复制到 '
        "site-packages），并以极简模式登录 miniQMT。见 docs/windows.md",
        "the qmt broker needs Windows and xtquant: xtquant is not on PyPI, it ships with the "
        'broker\'s miniQMT client; run pip install "aigupiao[qmt]", then put the folder holding '
        "xtquant on PYTHONPATH (or copy it into site-packages) and log in to miniQMT in its "
        "minimal (极简) mode. See docs/windows.md",
    ),
}


class ExtraMissing(BrokerUnavailable):
    """The adapter's client library (an optional extra, Windows only) is not importable here."""

    code = "broker_extra_missing"


def extra_missing(adapter: str, reason: str) -> ExtraMissing:
    """The error for ``adapter`` (``ths`` or ``qmt``) whose library is missing for ``reason``."""
    zh, en = _NEEDS[adapter]
    where_zh = "当前系统不是 Windows" if reason == "not_windows" else "未安装所需的库"
    where_en = "this is not Windows" if reason == "not_windows" else "the library is not installed"
    return ExtraMissing(f"{where_zh}。{zh}", f"{where_en}. {en}")
