"""Kalshi timestamp shapes -> integer Unix milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kalshi_rl.core.errors import InvalidValueError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def rfc3339_to_ms(text: str) -> int:
    """Return Unix ms for an RFC 3339 time such as ``2026-04-20T05:55:45.094Z``."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidValueError(f"expected an RFC 3339 time, got {text!r}") from None
    if moment.tzinfo is None:
        raise InvalidValueError(f"expected a time with a zone, got {text!r}")
    return (moment - _EPOCH) // _MS


def any_ts_to_ms(value: Any) -> int | None:
    """Return Unix ms for Kalshi's mixed time fields: RFC 3339, epoch s, or epoch ms."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValueError(f"expected a timestamp, got {value!r}")
    if isinstance(value, int):
        return value if value > 100_000_000_000 else value * 1000
    if isinstance(value, float):
        return round(value * 1000) if value < 100_000_000_000 else int(value)
    if isinstance(value, str):
        return rfc3339_to_ms(value)
    raise InvalidValueError(f"expected a timestamp, got {value!r}")
