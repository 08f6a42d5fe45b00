"""Column types that stay exact on both PostgreSQL and SQLite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

JsonB = JSON().with_variant(JSONB(), "postgresql")
"""JSONB on PostgreSQL, JSON text on SQLite."""

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""BIGSERIAL on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY."""


class ExactDecimal(TypeDecorator[Decimal]):
    """``NUMERIC(p, s)`` on PostgreSQL; a decimal string on SQLite (which has no exact type).

    Prices are dollars with 4 decimals and counts contracts with 2, so both fit exactly.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def __repr__(self) -> str:
        return f"ExactDecimal({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | str | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(Decimal(1).scaleb(-self.scale))
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
