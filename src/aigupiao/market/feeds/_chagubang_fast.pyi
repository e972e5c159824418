from collections.abc import Callable

from aigupiao.domain.market import Level, Quote

class FastParser:
    def __init__(
        self,
        *,
        quote_type: type[Quote],
        level_type: type[Level],
        prices: dict[bytes, object],
        times: dict[bytes, object],
        symbols: dict[bytes, object],
        names: dict[bytes, str],
        symbol_of: Callable[[bytes], object],
        name_of: Callable[[bytes], str],
        amount_of: Callable[[bytes], object],
    ) -> None: ...
    def parse(self, payload: bytes, /) -> Quote | None: ...
    def forget(self) -> None: ...
