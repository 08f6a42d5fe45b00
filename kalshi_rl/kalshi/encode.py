"""Build Kalshi WebSocket frames in the current shape (used by the local exchange and tests).

The inverse of ``messages.parse_frame``: exact domain values in, Kalshi's JSON out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.units import format_count, format_price


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def rfc3339(ts_ms: int) -> str:
    """Return Kalshi's RFC 3339 form of Unix ms, e.g. ``2026-04-20T05:55:45.094Z``."""
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def levels_fp(levels: list[Level] | tuple[Level, ...]) -> list[list[str]]:
    return [[format_price(price), format_count(size)] for price, size in levels]


def snapshot_frame(
    sid: int,
    seq: int,
    market_ticker: str,
    market_id: str,
    yes_bids: list[Level],
    no_bids: list[Level],
    request_id: int | None = None,
) -> str:
    msg: dict[str, Any] = {"market_ticker": market_ticker, "market_id": market_id}
    if yes_bids:  # Kalshi omits an empty side
        msg["yes_dollars_fp"] = levels_fp(yes_bids)
    if no_bids:
        msg["no_dollars_fp"] = levels_fp(no_bids)
    frame: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}
    if request_id is not None:
        frame["id"] = request_id
    return _dumps(frame)


def delta_frame(
    sid: int,
    seq: int,
    market_ticker: str,
    market_id: str,
    side: Side,
    price_ticks: int,
    delta_units: int,
    ts_ms: int,
) -> str:
    return _dumps(
        {
            "type": "orderbook_delta",
            "sid": sid,
            "seq": seq,
            "msg": {
                "market_ticker": market_ticker,
                "market_id": market_id,
                "price_dollars": format_price(price_ticks),
                "delta_fp": format_count(delta_units),
                "side": side.value,
                "ts": rfc3339(ts_ms),
                "ts_ms": ts_ms,
            },
        }
    )


def trade_frame(
    sid: int,
    seq: int,
    market_ticker: str,
    trade_id: str,
    yes_price_ticks: int,
    count_units: int,
    taker_side: Side,
    ts_ms: int,
) -> str:
    return _dumps(
        {
            "type": "trade",
            "sid": sid,
            "seq": seq,
            "msg": {
                "trade_id": trade_id,
                "market_ticker": market_ticker,
                "yes_price_dollars": format_price(yes_price_ticks),
                "no_price_dollars": format_price(10_000 - yes_price_ticks),
                "count_fp": format_count(count_units),
                "taker_side": taker_side.value,
                "taker_outcome_side": taker_side.value,
                "taker_book_side": "bid" if taker_side is Side.YES else "ask",
                "is_block_trade": False,
                "ts": ts_ms // 1000,
                "ts_ms": ts_ms,
            },
        }
    )


def lifecycle_frame(sid: int, seq: int, market_ticker: str, event_type: str, **fields: Any) -> str:
    msg = {"market_ticker": market_ticker, "event_type": event_type, **fields}
    return _dumps({"type": "market_lifecycle_v2", "sid": sid, "seq": seq, "msg": msg})


def subscribed_frame(request_id: int | None, channel: str, sid: int) -> str:
    return _dumps({"id": request_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def unsubscribed_frame(request_id: int | None, sid: int, seq: int) -> str:
    return _dumps({"id": request_id, "sid": sid, "seq": seq, "type": "unsubscribed"})


def ok_frame(request_id: int | None, sid: int, seq: int, market_tickers: list[str]) -> str:
    return _dumps(
        {"id": request_id, "sid": sid, "seq": seq, "type": "ok", "msg": {"market_tickers": market_tickers}}
    )


def error_frame(
    request_id: int | None, code: int, message: str, sid: int | None = None, seq: int | None = None
) -> str:
    frame: dict[str, Any] = {"id": request_id, "type": "error", "msg": {"code": code, "msg": message}}
    if sid is not None:
        frame["sid"] = sid
    if seq is not None:
        frame["seq"] = seq
    return _dumps(frame)


def command(request_id: int, cmd: str, **params: Any) -> str:
    """Return a client command such as ``subscribe`` or ``update_subscription``."""
    frame: dict[str, Any] = {"id": request_id, "cmd": cmd}
    if params:
        frame["params"] = params
    return _dumps(frame)
