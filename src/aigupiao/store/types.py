"""Column types that behave the same on SQLite and PostgreSQL.

- :class:`UTCDateTime`: timezone-aware datetimes, stored as UTC, returned as aware UTC.
  SQLite has no timezone type, so the value is stored as naive UTC text there.
- :class:`Money`: ``Decimal`` with 4 decimal places. PostgreSQL stores ``NUMERIC(20, 4)``;
  SQLite stores the decimal text in a ``VARCHAR``, because a ``NUMERIC`` column in SQLite
  converts values to binary floating point.
- :data:`JSONDoc`: JSON where Python ``None`` is SQL ``NULL`` (not the JSON text ``null``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from aigupiao.domain.money import to_decimal

MONEY_PRECISION = 20
MONEY_SCALE = 4
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)
SQLITE_MONEY_LENGTH = 32  # sign + 16 digits + point + 4 decimals, with room to spare

JSONDoc = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC. Naive datetimes are refused: their zone is a guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: the stored text is UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """A ``Decimal`` rounded half up to 4 places, exact on both databases.

    Floats are refused so that binary noise never reaches the books; ints, strings
    and Decimals are accepted. Values are quantized on the way in, so both databases
    return the same ``Decimal`` (``Decimal("1488.01")`` comes back as ``Decimal("1488.0100")``,
    which compares equal).
    """

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(SQLITE_MONEY_LENGTH))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"float {value!r} for a money column: use Decimal or str")
        amount = to_decimal(value).quantize(_QUANTUM, rounding=ROUND_HALF_UP)
        if abs(amount) >= _LIMIT:
            raise ValueError(f"{amount} does not fit NUMERIC({MONEY_PRECISION}, {MONEY_SCALE})")
        return format(amount, "f") if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)
