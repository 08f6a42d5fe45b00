"""Parse Kalshi WebSocket frames into exact domain events or control replies.

A frame is read in two steps, so its place in the stream is known before its content is
trusted: ``decode_frame`` + ``read_envelope`` give ``type``, ``sid`` and ``seq`` (the caller
counts the seq), then ``parse_body`` builds the message. A frame whose JSON or envelope cannot
be read raises from the first step; an unknown type or a malformed body from the second.

Both the current shapes (``yes_dollars_fp``, ``price_dollars``/``delta_fp``, ``ts``/``ts_ms``)
and the legacy ones (``yes``/``no`` in cents, ``price``/``delta`` as integers) are accepted and
converted once, here. Book frames are read in the price encoding their subscription asked for
(``use_yes_price``, AsyncAPI 2.0.0): with ``yes_price`` the NO side's prices are YES prices
``1 - q`` and are turned back into NO bid prices ``q``, so the book always holds no-leg prices.
Anything malformed or impossible raises ``FrameError`` with the reason; the caller
quarantines the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from kalshi_rl.core.errors import FrameError, InvalidValueError
from kalshi_rl.core.events import (
    BookDelta,
    BookSnapshot,
    EventFeeUpdate,
    EventLifecycle,
    Level,
    LifecycleEvent,
    Side,
    TickerUpdate,
    Trade,
)
from kalshi_rl.core.units import (
    PRICE_SCALE,
    cents_to_ticks,
    contracts_to_units,
    parse_count_fp,
    parse_price_dollars,
)
from kalshi_rl.kalshi.lifecycle_messages import (
    parse_event_fee_update,
    parse_event_lifecycle,
    parse_market_lifecycle,
)
from kalshi_rl.kalshi.replies import (
    TERMINAL_ERROR_CODES,
    ControlReply,
    ErrorReply,
    ListSubscriptions,
    Ok,
    Subscribed,
    Unsubscribed,
    parse_error,
    parse_list_subscriptions,
    parse_ok,
    parse_subscribed,
    parse_unsubscribed,
)
from kalshi_rl.kalshi.timestamps import any_ts_to_ms

__all__ = [
    "TERMINAL_ERROR_CODES",
    "ControlReply",
    "ErrorReply",
    "Event",
    "ListSubscriptions",
    "Message",
    "Ok",
    "Subscribed",
    "Unsubscribed",
    "decode_frame",
    "parse_body",
    "parse_frame",
    "read_envelope",
]

Event = BookSnapshot | BookDelta | Trade | TickerUpdate | LifecycleEvent | EventLifecycle | EventFeeUpdate
Message = Event | ControlReply

_SIDES = {"yes": Side.YES, "no": Side.NO}
SNAPSHOT = "orderbook_snapshot"
DELTA = "orderbook_delta"


def decode_frame(raw: str | bytes) -> dict[str, Any]:
    """Return a frame's JSON object, or raise ``FrameError`` (its place in the stream is lost)."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"not JSON: {exc}") from None
    if type(frame) is not dict:
        raise FrameError(f"expected a JSON object, got {type(frame).__name__}")
    return frame


def read_envelope(frame: dict[str, Any]) -> tuple[str | None, int | None, int | None]:
    """Return ``(type, sid, seq)``; ``None`` for an absent field (a non-string type too).

    A sid or seq of the wrong type makes the frame's place in the stream unknown: ``FrameError``.
    """
    kind, sid, seq = frame.get("type"), frame.get("sid"), frame.get("seq")
    if sid is not None and type(sid) is not int:
        raise FrameError(f"expected integer sid, got {sid!r}", _market_of(frame))
    if seq is not None and type(seq) is not int:
        raise FrameError(f"expected integer seq, got {seq!r}", _market_of(frame))
    return (kind if type(kind) is str else None), sid, seq


def parse_body(kind: str | None, frame: dict[str, Any], recv_ns: int, yes_price: bool = False) -> Message:
    """Return the message of a frame whose envelope was read, or raise ``FrameError``."""
    parser = _PARSERS.get(kind) if kind is not None else None
    if parser is None:
        raise FrameError(f"unknown message type {frame.get('type')!r}", _market_of(frame))
    request_id = frame.get("id")
    if request_id is not None and type(request_id) is not int:
        raise FrameError(f"{kind}: expected an integer id, got {request_id!r}", _market_of(frame))
    try:
        return parser(frame, recv_ns, yes_price)
    except FrameError:
        raise
    except InvalidValueError as exc:
        raise FrameError(f"{kind}: {exc}", _market_of(frame)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise FrameError(f"{kind}: malformed ({type(exc).__name__}: {exc})", _market_of(frame)) from None


def parse_frame(raw: str | bytes, recv_ns: int, yes_price: bool = False) -> Message:
    """Return the message in one WebSocket text frame, or raise ``FrameError``."""
    frame = decode_frame(raw)
    kind, _, _ = read_envelope(frame)
    return parse_body(kind, frame, recv_ns, yes_price)


def _market_of(frame: dict[str, Any]) -> str | None:
    msg = frame.get("msg")
    ticker = msg.get("market_ticker") if isinstance(msg, dict) else None
    return ticker if isinstance(ticker, str) else None


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise FrameError(f"expected integer {what}, got {value!r}")
    return value


def _book_price(ticks: int) -> int:
    if not 0 < ticks < PRICE_SCALE:
        raise InvalidValueError(f"price {ticks / PRICE_SCALE:.4f} outside (0, 1)")
    return ticks


def _levels(
    msg: dict[str, Any], current_key: str, legacy_key: str, mirror: bool = False
) -> tuple[Level, ...]:
    """One side's levels; ``mirror`` turns YES-leg prices ``1 - q`` back into NO prices ``q``."""
    convert_price: Callable[[Any], int]
    convert_count: Callable[[Any], int]
    if current_key in msg:
        raw_levels = msg[current_key]
        convert_price, convert_count = parse_price_dollars, parse_count_fp
    elif legacy_key in msg:
        raw_levels = msg[legacy_key]
        convert_price, convert_count = cents_to_ticks, contracts_to_units
    else:
        return ()  # Kalshi omits a side that is empty.
    if raw_levels is None:
        return ()
    levels = []
    seen = set()
    for price_raw, count_raw in raw_levels:
        price = _book_price(convert_price(price_raw))
        if mirror:
            price = PRICE_SCALE - price
        count = convert_count(count_raw)
        if count <= 0:
            raise InvalidValueError(f"snapshot level at {price_raw} has size {count_raw}")
        if price in seen:
            raise InvalidValueError(f"snapshot repeats the level at {price_raw}")
        seen.add(price)
        levels.append((price, count))
    return tuple(levels)


def _exchange_ms(msg: dict[str, Any]) -> int | None:
    ts_ms = msg.get("ts_ms")
    if ts_ms is not None:
        return _int(ts_ms, "ts_ms")
    return any_ts_to_ms(msg.get("ts"))


def _text(msg: dict[str, Any], key: str) -> str:
    value = msg[key]
    if type(value) is not str or not value:
        raise FrameError(f"expected a non-empty string {key}, got {value!r}")
    return value


def _ticker(msg: dict[str, Any]) -> str:
    ticker = msg["market_ticker"]
    if not isinstance(ticker, str) or not ticker:
        raise FrameError(f"expected a market_ticker, got {ticker!r}")
    return ticker


def _snapshot(frame: dict[str, Any], recv_ns: int, yes_price: bool) -> BookSnapshot:
    msg = frame["msg"]
    return BookSnapshot(
        market_ticker=_ticker(msg),
        sid=_int(frame["sid"], "sid"),
        seq=_int(frame["seq"], "seq"),
        yes_bids=_levels(msg, "yes_dollars_fp", "yes"),
        no_bids=_levels(msg, "no_dollars_fp", "no", yes_price),
        ts_exchange_ms=_exchange_ms(msg),
        ts_recv_ns=recv_ns,
        yes_price=yes_price,
    )


def _delta(frame: dict[str, Any], recv_ns: int, yes_price: bool) -> BookDelta:
    msg = frame["msg"]
    if "price_dollars" in msg:
        price = parse_price_dollars(msg["price_dollars"])
        delta = parse_count_fp(msg["delta_fp"])
    else:
        price = cents_to_ticks(msg["price"])
        delta = contracts_to_units(msg["delta"])
    side = _SIDES.get(msg["side"])
    if side is None:
        raise FrameError(f"orderbook_delta: unknown side {msg['side']!r}", _market_of(frame))
    if delta == 0:
        raise FrameError("orderbook_delta: zero delta", _market_of(frame))
    if not 0 < price < PRICE_SCALE:
        raise InvalidValueError(f"price {price / PRICE_SCALE:.4f} outside (0, 1)")
    if yes_price and side is Side.NO:
        price = PRICE_SCALE - price
    sid, seq, ticker, ts_ms = frame["sid"], frame["seq"], msg["market_ticker"], msg.get("ts_ms")
    if type(sid) is not int or type(seq) is not int or type(ticker) is not str or not ticker:
        _int(sid, "sid"), _int(seq, "seq"), _ticker(msg)  # raise the precise error
    if ts_ms is None:
        ts_ms = any_ts_to_ms(msg.get("ts"))
    elif type(ts_ms) is not int:
        raise FrameError(f"expected integer ts_ms, got {ts_ms!r}")
    client_order_id = msg.get("client_order_id")
    if client_order_id is not None and type(client_order_id) is not str:
        raise FrameError(f"orderbook_delta: expected a string client_order_id, got {client_order_id!r}")
    return BookDelta(ticker, sid, seq, side, price, delta, ts_ms, recv_ns, client_order_id)


def _trade(frame: dict[str, Any], recv_ns: int, _yes_price: bool) -> Trade:
    msg = frame["msg"]
    if "yes_price_dollars" in msg:
        price = parse_price_dollars(msg["yes_price_dollars"])
        count = parse_count_fp(msg["count_fp"])
    else:
        price = cents_to_ticks(msg["yes_price"])
        count = contracts_to_units(msg["count"])
    taker_raw = msg.get("taker_outcome_side") or msg["taker_side"]
    taker = _SIDES.get(taker_raw)
    if taker is None:
        raise FrameError(f"trade: unknown taker side {taker_raw!r}", _market_of(frame))
    if count <= 0:
        raise FrameError(f"trade: non-positive count {count}", _market_of(frame))
    return Trade(
        market_ticker=_ticker(msg),
        sid=_int(frame["sid"], "sid"),
        seq=_int(frame["seq"], "seq"),
        trade_id=_text(msg, "trade_id"),
        yes_price_ticks=_book_price(price),
        count_units=count,
        taker_side=taker,
        ts_exchange_ms=_exchange_ms(msg),
        ts_recv_ns=recv_ns,
    )


def _opt_price(msg: dict[str, Any], key: str, legacy_key: str, required: bool = False) -> int | None:
    if key in msg:
        value = msg[key]
        return None if value is None else parse_price_dollars(value)
    if required and legacy_key not in msg:
        raise FrameError(f"ticker: malformed (missing {key!r})", _ticker(msg))
    legacy = msg.get(legacy_key)
    return None if legacy is None else cents_to_ticks(legacy)


def _opt_count(msg: dict[str, Any], key: str, legacy_key: str) -> int | None:
    if key in msg:
        value = msg[key]
        return None if value is None else parse_count_fp(value)
    legacy = msg.get(legacy_key)
    return None if legacy is None else contracts_to_units(legacy)


def _ticker_update(frame: dict[str, Any], recv_ns: int, _yes_price: bool) -> TickerUpdate:
    msg = frame["msg"]
    _int(frame["sid"], "sid")  # not sequenced, but always on a subscription
    return TickerUpdate(
        market_ticker=_ticker(msg),
        yes_bid_ticks=_opt_price(msg, "yes_bid_dollars", "yes_bid", required=True),
        yes_ask_ticks=_opt_price(msg, "yes_ask_dollars", "yes_ask", required=True),
        yes_bid_size_units=_opt_count(msg, "yes_bid_size_fp", "yes_bid_size"),
        yes_ask_size_units=_opt_count(msg, "yes_ask_size_fp", "yes_ask_size"),
        last_price_ticks=_opt_price(msg, "price_dollars", "price", required=True),
        ts_exchange_ms=_exchange_ms(msg),
        ts_recv_ns=recv_ns,
    )


def _lifecycle(frame: dict[str, Any], recv_ns: int, _yes_price: bool) -> LifecycleEvent:
    return parse_market_lifecycle(frame, recv_ns)


def _event_lifecycle(frame: dict[str, Any], recv_ns: int, _yes_price: bool) -> EventLifecycle:
    return parse_event_lifecycle(frame, recv_ns)


def _event_fee_update(frame: dict[str, Any], recv_ns: int, _yes_price: bool) -> EventFeeUpdate:
    return parse_event_fee_update(frame, recv_ns)


_PARSERS: dict[str, Callable[[dict[str, Any], int, bool], Message]] = {
    SNAPSHOT: _snapshot,
    DELTA: _delta,
    "trade": _trade,
    "ticker": _ticker_update,
    "market_lifecycle_v2": _lifecycle,
    "market_lifecycle": _lifecycle,
    "event_lifecycle": _event_lifecycle,
    "event_fee_update": _event_fee_update,
    "subscribed": parse_subscribed,
    "unsubscribed": parse_unsubscribed,
    "ok": parse_ok,
    "error": parse_error,
    "list_subscriptions": parse_list_subscriptions,
}
KNOWN_TYPES = frozenset(_PARSERS)
