"""Typed reads of one field of a Kalshi frame: right type or ``FrameError`` naming the field.

JSON has no integer/float/bool distinction Python keeps for free (``True`` is an ``int``), so
every check here is by exact type. Messages say which field, what was expected and what came.
"""

from __future__ import annotations

from typing import Any

from kalshi_rl.core.errors import FrameError
from kalshi_rl.core.events import PriceRanges
from kalshi_rl.core.units import PRICE_SCALE, parse_price_dollars

_MISSING = object()


def msg_of(frame: dict[str, Any], kind: str) -> dict[str, Any]:
    """Return the frame's ``msg`` object (required on every data message)."""
    msg = frame.get("msg", _MISSING)
    if msg is _MISSING:
        raise FrameError(f"{kind}: malformed (missing 'msg')")
    if type(msg) is not dict:
        raise FrameError(f"{kind}: expected an object 'msg', got {type(msg).__name__}")
    return msg


def req(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> Any:
    """Return a required field (it may hold null only if the caller allows it)."""
    value = msg.get(key, _MISSING)
    if value is _MISSING:
        raise FrameError(f"{kind}: malformed (missing {key!r})", market)
    return value


def req_str(msg: dict[str, Any], key: str, kind: str, market: str | None = None, empty: bool = True) -> str:
    value = req(msg, key, kind, market)
    if type(value) is not str or (not empty and not value):
        raise FrameError(
            f"{kind}: expected a{'' if empty else ' non-empty'} string {key}, got {value!r}", market
        )
    return value


def opt_str(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> str | None:
    value = msg.get(key)
    if value is not None and type(value) is not str:
        raise FrameError(f"{kind}: expected a string {key}, got {value!r}", market)
    return value


def req_int(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> int:
    value = req(msg, key, kind, market)
    if type(value) is not int:
        raise FrameError(f"{kind}: expected an integer {key}, got {value!r}", market)
    return value


def opt_int(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> int | None:
    value = msg.get(key)
    if value is not None and type(value) is not int:
        raise FrameError(f"{kind}: expected an integer {key}, got {value!r}", market)
    return value


def opt_bool(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> bool | None:
    value = msg.get(key)
    if value is not None and type(value) is not bool:
        raise FrameError(f"{kind}: expected a boolean {key}, got {value!r}", market)
    return value


def opt_number(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> int | float | None:
    value = msg.get(key)
    if value is not None and type(value) not in (int, float):
        raise FrameError(f"{kind}: expected a number {key}, got {value!r}", market)
    return value


def opt_object(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> dict[str, Any] | None:
    value = msg.get(key)
    if value is not None and type(value) is not dict:
        raise FrameError(f"{kind}: expected an object {key}, got {value!r}", market)
    return value


def opt_seconds_ms(msg: dict[str, Any], key: str, kind: str, market: str | None = None) -> int | None:
    """An ``integer(int64)`` Unix-seconds field, as Unix ms."""
    seconds = opt_int(msg, key, kind, market)
    if seconds is not None and seconds < 0:
        raise FrameError(f"{kind}: negative {key} {seconds}", market)
    return None if seconds is None else seconds * 1000


def price_ranges(value: Any, kind: str, market: str | None = None) -> PriceRanges:
    """Kalshi's ``price_ranges`` (``[{"start", "end", "step"}]`` in fixed-point dollars) in ticks.

    A band must lie in [0, 1] with ``start < end`` and a positive step; at least one band.
    """
    if type(value) is not list or not value:
        raise FrameError(f"{kind}: expected a non-empty list price_ranges, got {value!r}", market)
    bands = []
    for band in value:
        if type(band) is not dict:
            raise FrameError(f"{kind}: expected price range objects, got {band!r}", market)
        start, end, step = (
            parse_price_dollars(req_str(band, k, kind, market)) for k in ("start", "end", "step")
        )
        if not 0 <= start < end <= PRICE_SCALE or step <= 0:
            raise FrameError(f"{kind}: impossible price range {band!r}", market)
        bands.append((start, end, step))
    return tuple(bands)
