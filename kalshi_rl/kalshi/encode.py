"""Build Kalshi WebSocket frames in the current shape (used by the local exchange and tests).

The inverse of ``messages.parse_frame``: exact domain values in, Kalshi's JSON out, in the
shapes of Kalshi's AsyncAPI 2.0.0 (``docs.kalshi.com/asyncapi.yaml``). Optional fields are
left out, never sent as ``null`` (a command reply without a command id has no ``id`` key, as
Kalshi answers); the only nulls are the two documented ones of ``event_fee_update``.

Prices are integer ticks of $0.0001 and counts integer units of 0.01 contract. Book frames
take ``yes_leg``: Kalshi's ``use_yes_price: true`` encoding, where NO-side levels and deltas
carry the YES price ``1 - q`` of a NO bid at ``q`` instead of ``q`` itself (field names and
counts unchanged, level order unchanged).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, NamedTuple

from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def _with_id(request_id: int | None, frame: dict[str, Any]) -> dict[str, Any]:
    """Return ``frame`` led by ``id`` when the command had one (id 0 counts as none, per Kalshi)."""
    return {"id": request_id, **frame} if request_id else frame


def rfc3339(ts_ms: int) -> str:
    """Return Kalshi's RFC 3339 form of Unix ms, e.g. ``2026-04-20T05:55:45.094Z``."""
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def wire_price(side: Side, price_ticks: int, yes_leg: bool) -> int:
    """Return the price a book frame carries for a bid of ``side`` at ``price_ticks``."""
    return PRICE_SCALE - price_ticks if yes_leg and side is Side.NO else price_ticks


def levels_fp(levels: list[Level] | tuple[Level, ...]) -> list[list[str]]:
    return [[format_price(price), format_count(size)] for price, size in levels]


def fee_multiplier_json(multiplier: Fraction) -> int | float:
    """Return a fee multiplier as the JSON number Kalshi sends (``1``, ``0.5``)."""
    return multiplier.numerator if multiplier.denominator == 1 else float(multiplier)


def snapshot_frame(
    sid: int,
    seq: int,
    market_ticker: str,
    market_id: str,
    yes_bids: list[Level],
    no_bids: list[Level],
    request_id: int | None = None,
    *,
    yes_leg: bool = False,
) -> str:
    msg: dict[str, Any] = {"market_ticker": market_ticker, "market_id": market_id}
    if yes_bids:  # Kalshi omits an empty side
        msg["yes_dollars_fp"] = levels_fp(yes_bids)
    if no_bids:
        msg["no_dollars_fp"] = levels_fp(
            [(PRICE_SCALE - price, size) for price, size in no_bids] if yes_leg else no_bids
        )
    frame: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}
    return _dumps(_with_id(request_id, frame))


def delta_frame(
    sid: int,
    seq: int,
    market_ticker: str,
    market_id: str,
    side: Side,
    price_ticks: int,
    delta_units: int,
    ts_ms: int,
    *,
    yes_leg: bool = False,
) -> str:
    return _dumps(
        {
            "type": "orderbook_delta",
            "sid": sid,
            "seq": seq,
            "msg": {
                "market_ticker": market_ticker,
                "market_id": market_id,
                "price_dollars": format_price(wire_price(side, price_ticks, yes_leg)),
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
                "no_price_dollars": format_price(PRICE_SCALE - yes_price_ticks),
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


class TickerValues(NamedTuple):
    """What a ``ticker`` message says about a market (prices in ticks, counts in units).

    An empty YES bid side is quoted ``0.0000`` with size 0 and an empty NO side as a YES ask
    of ``1.0000`` with size 0, as Kalshi does. ``dollar_volume`` and ``dollar_open_interest``
    are whole dollars (integers on the wire).
    """

    price_ticks: int
    yes_bid_ticks: int
    yes_ask_ticks: int
    yes_bid_size_units: int
    yes_ask_size_units: int
    volume_units: int
    open_interest_units: int
    dollar_volume: int
    dollar_open_interest: int
    last_trade_size_units: int


def ticker_frame(sid: int, market_ticker: str, market_id: str, values: TickerValues, ts_ms: int) -> str:
    """Return a ``ticker`` message: it carries a sid but no seq (the channel is not sequenced)."""
    return _dumps(
        {
            "type": "ticker",
            "sid": sid,
            "msg": {
                "market_id": market_id,
                "market_ticker": market_ticker,
                "price_dollars": format_price(values.price_ticks),
                "yes_bid_dollars": format_price(values.yes_bid_ticks),
                "yes_ask_dollars": format_price(values.yes_ask_ticks),
                "volume_fp": format_count(values.volume_units),
                "open_interest_fp": format_count(values.open_interest_units),
                "dollar_volume": values.dollar_volume,
                "dollar_open_interest": values.dollar_open_interest,
                "yes_bid_size_fp": format_count(values.yes_bid_size_units),
                "yes_ask_size_fp": format_count(values.yes_ask_size_units),
                "last_trade_size_fp": format_count(values.last_trade_size_units),
                "ts": ts_ms // 1000,
                "ts_ms": ts_ms,
                "time": rfc3339(ts_ms),
            },
        }
    )


def lifecycle_frame(sid: int, seq: int, market_ticker: str, event_type: str, **fields: Any) -> str:
    """Return a ``market_lifecycle_v2`` message; ``fields`` are the event type's own keys."""
    msg = {"market_ticker": market_ticker, "event_type": event_type, **fields}
    return _dumps({"type": "market_lifecycle_v2", "sid": sid, "seq": seq, "msg": msg})


def event_lifecycle_frame(
    sid: int,
    seq: int,
    *,
    event_ticker: str,
    series_ticker: str,
    title: str,
    subtitle: str,
    collateral_return_type: str = "",
    exchange_index: int = 0,
    strike_date: int | None = None,
    strike_period: str | None = None,
) -> str:
    """Return an ``event_lifecycle`` message (an event was created; on the lifecycle sid)."""
    msg: dict[str, Any] = {
        "event_ticker": event_ticker,
        "exchange_index": exchange_index,
        "title": title,
        "subtitle": subtitle,
        "collateral_return_type": collateral_return_type,
        "series_ticker": series_ticker,
    }
    if strike_date is not None:
        msg["strike_date"] = strike_date
    if strike_period is not None:
        msg["strike_period"] = strike_period
    return _dumps({"type": "event_lifecycle", "sid": sid, "seq": seq, "msg": msg})


def event_fee_update_frame(sid: int, seq: int, event_ticker: str, override: FeeSchedule | None) -> str:
    """Return an ``event_fee_update``; ``None`` clears the override (both values null, as Kalshi sends)."""
    msg: dict[str, Any] = {
        "event_ticker": event_ticker,
        "fee_type_override": override.fee_type.value if override else None,
        "fee_multiplier_override": fee_multiplier_json(override.multiplier) if override else None,
    }
    return _dumps({"type": "event_fee_update", "sid": sid, "seq": seq, "msg": msg})


def subscribed_frame(request_id: int | None, channel: str, sid: int) -> str:
    return _dumps(_with_id(request_id, {"type": "subscribed", "msg": {"channel": channel, "sid": sid}}))


def unsubscribed_frame(request_id: int | None, sid: int, seq: int) -> str:
    return _dumps(_with_id(request_id, {"sid": sid, "seq": seq, "type": "unsubscribed"}))


def ok_frame(request_id: int | None, sid: int, seq: int, market_tickers: list[str] | None) -> str:
    """Return the reply to ``update_subscription``; ``None`` tickers = ``skip_ticker_ack`` (no ``msg``)."""
    frame: dict[str, Any] = {"sid": sid, "seq": seq, "type": "ok"}
    if market_tickers is not None:
        frame["msg"] = {"market_tickers": market_tickers}
    return _dumps(_with_id(request_id, frame))


def list_subscriptions_frame(request_id: int | None, subscriptions: list[dict[str, Any]]) -> str:
    """Return the reply to ``list_subscriptions``: type ``ok`` with a list in ``msg``."""
    return _dumps(_with_id(request_id, {"type": "ok", "msg": subscriptions}))


def error_frame(
    request_id: int | None,
    code: int,
    message: str,
    sid: int | None = None,
    seq: int | None = None,
    *,
    market_ticker: str | None = None,
    market_tickers: list[str] | None = None,
) -> str:
    """Return an ``error``; ``sid`` (and ``seq`` on sequenced channels) when subscription-scoped."""
    msg: dict[str, Any] = {"code": code, "msg": message}
    if market_ticker is not None:
        msg["market_ticker"] = market_ticker
    if market_tickers is not None:
        msg["market_tickers"] = market_tickers
    frame: dict[str, Any] = {"type": "error", "msg": msg}
    if sid is not None:
        frame["sid"] = sid
    if seq is not None:
        frame["seq"] = seq
    return _dumps(_with_id(request_id, frame))


def command(request_id: int, cmd: str, **params: Any) -> str:
    """Return a client command such as ``subscribe`` or ``update_subscription``."""
    frame: dict[str, Any] = {"id": request_id, "cmd": cmd}
    if params:
        frame["params"] = params
    return _dumps(frame)
