"""Market data: the symbol universe and quote feeds."""

from .sim import SimMarket
from .universe import SymbolInfo, default_shared_dir, load_universe

__all__ = ["SimMarket", "SymbolInfo", "default_shared_dir", "load_universe"]
