"""Parse Kalshi WebSocket frames into exact domain events or control replies.

Both the current shapes (``yes_dollars_fp``, ``price_dollars``/``delta_fp``, ``ts``/``ts_ms``)
and the legacy ones (``yes``/``no`` in cents, ``price``/``delta`` as integers) are accepted and
converted once, here. Anything malformed or impossible raises ``FrameError`` with the reason;
the caller quarantines the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kalshi_rl.core.errors import FrameError, InvalidValueError
from kalshi_rl.core.events import (
    BookDelta,
    BookSnapshot,
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
from kalshi_rl.kalshi.timestamps import any_ts_to_ms


@dataclass(frozen=True, slots=True)
class Subscribed:
    id: int | None
    channel: str
    sid: int


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    id: int | None
    sid: int
    seq: int | None


@dataclass(frozen=True, slots=True)
class Ok:
    """Acknowledges ``update_subscription``; carries (and consumes) a seq of its sid."""

    id: int | None
    sid: int | None
    seq: int | None
    market_tickers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A command error. Subscription-scoped errors carry the sid (and consume a seq)."""

    id: int | None
    code: int
    message: str
    sid: int | None = None
    seq: int | None = None

    @property
    def is_terminal(self) -> bool:
        """Codes 10 (channel error) and 25 (buffer overflow) end the subscription."""
        return self.code in TERMINAL_ERROR_CODES


@dataclass(frozen=True, slots=True)
class ListSubscriptions:
    id: int | None
    subscriptions: tuple[dict[str, Any], ...]


ControlReply = Subscribed | Unsubscribed | Ok | ErrorReply | ListSubscriptions
Event = BookSnapshot | BookDelta | Trade | TickerUpdate | LifecycleEvent
Message = Event | ControlReply

_SIDES = {"yes": Side.YES, "no": Side.NO}
TERMINAL_ERROR_CODES = frozenset({10, 25})


def parse_frame(raw: str | bytes, recv_ns: int) -> Message:
    """Return the message in one WebSocket text frame, or raise ``FrameError``."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"not JSON: {exc}") from None
    if type(frame) is not dict:
        raise FrameError(f"expected a JSON object, got {type(frame).__name__}")
    kind = frame.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise FrameError(f"unknown message type {kind!r}")
    try:
        return parser(frame, recv_ns)
    except FrameError:
        raise
    except InvalidValueError as exc:
        raise FrameError(f"{kind}: {exc}", _market_of(frame)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise FrameError(f"{kind}: malformed ({type(exc).__name__}: {exc})", _market_of(frame)) from None


def _market_of(frame: dict[str, Any]) -> str | None:
    msg = frame.get("msg")
    ticker = msg.get("market_ticker") if isinstance(msg, dict) else None
    return ticker if isinstance(ticker, str) else None


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise FrameError(f"expected integer {what}, got {value!r}")
    return value


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _book_price(ticks: int) -> int:
    if not 0 < ticks < PRICE_SCALE:
        raise InvalidValueError(f"price {ticks / PRICE_SCALE:.4f} outside (0, 1)")
    return ticks


def _levels(msg: dict[str, Any], current_key: str, legacy_key: str) -> tuple[Level, ...]:
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


def _ticker(msg: dict[str, Any]) -> str:
    ticker = msg["market_ticker"]
    if not isinstance(ticker, str) or not ticker:
        raise FrameError(f"expected a market_ticker, got {ticker!r}")
    return ticker


def _snapshot(frame: dict[str, Any], recv_ns: int) -> BookSnapshot:
    msg = frame["msg"]
    return BookSnapshot(
        market_ticker=_ticker(msg),
        sid=_int(frame["sid"], "sid"),
        seq=_int(frame["seq"], "seq"),
        yes_bids=_levels(msg, "yes_dollars_fp", "yes"),
        no_bids=_levels(msg, "no_dollars_fp", "no"),
        ts_exchange_ms=_exchange_ms(msg),
        ts_recv_ns=recv_ns,
    )


def _delta(frame: dict[str, Any], recv_ns: int) -> BookDelta:
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
    sid, seq, ticker, ts_ms = frame["sid"], frame["seq"], msg["market_ticker"], msg.get("ts_ms")
    if type(sid) is not int or type(seq) is not int or type(ticker) is not str or not ticker:
        _int(sid, "sid"), _int(seq, "seq"), _ticker(msg)  # raise the precise error
    if ts_ms is None:
        ts_ms = any_ts_to_ms(msg.get("ts"))
    elif type(ts_ms) is not int:
        raise FrameError(f"expected integer ts_ms, got {ts_ms!r}")
    return BookDelta(ticker, sid, seq, side, price, delta, ts_ms, recv_ns, msg.get("client_order_id"))


def _trade(frame: dict[str, Any], recv_ns: int) -> Trade:
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
        trade_id=str(msg["trade_id"]),
        yes_price_ticks=_book_price(price),
        count_units=count,
        taker_side=taker,
        ts_exchange_ms=_exchange_ms(msg),
        ts_recv_ns=recv_ns,
    )


def _opt_price(msg: dict[str, Any], key: str, legacy_key: str) -> int | None:
    if key in msg:
        value = msg[key]
        return None if value is None else parse_price_dollars(value)
    legacy = msg.get(legacy_key)
    return None if legacy is None else cents_to_ticks(legacy)


def _opt_count(msg: dict[str, Any], key: str, legacy_key: str) -> int | None:
    if key in msg:
        value = msg[key]
        return None if value is None else parse_count_fp(value)
    legacy = msg.get(legacy_key)
    return None if legacy is None else contracts_to_units(legacy)


def _ticker_update(frame: dict[str, Any], recv_ns: int) -> TickerUpdate:
    msg = frame["msg"]
    return TickerUpdate(
        market_ticker=_ticker(msg),
        yes_bid_ticks=_opt_price(msg, "yes_bid_dollars", "yes_bid"),
        yes_ask_ticks=_opt_price(msg, "yes_ask_dollars", "yes_ask"),
        yes_bid_size_units=_opt_count(msg, "yes_bid_size_fp", "yes_bid_size"),
        yes_ask_size_units=_opt_count(msg, "yes_ask_size_fp", "yes_ask_size"),
        last_price_ticks=_opt_price(msg, "price_dollars", "price"),
        ts_exchange_ms=_exchange_ms(msg),
        ts_recv_ns=recv_ns,
    )


def _lifecycle(frame: dict[str, Any], recv_ns: int) -> LifecycleEvent:
    msg = frame["msg"]
    settlement = msg.get("settlement_value", msg.get("settlement_value_dollars"))
    if settlement is None:
        settlement_ticks = None
    elif isinstance(settlement, str):
        settlement_ticks = parse_price_dollars(settlement)
    else:
        settlement_ticks = cents_to_ticks(settlement)
    result = msg.get("result") or None
    return LifecycleEvent(
        market_ticker=_ticker(msg),
        event_type=str(msg["event_type"]),
        ts_exchange_ms=any_ts_to_ms(msg.get("determination_ts") or msg.get("settled_ts") or msg.get("ts")),
        ts_recv_ns=recv_ns,
        result=result,
        settlement_ticks=settlement_ticks,
        open_ts_ms=any_ts_to_ms(msg.get("open_ts")),
        close_ts_ms=any_ts_to_ms(msg.get("close_ts")),
        sid=_opt_int(frame.get("sid"), "sid"),
        seq=_opt_int(frame.get("seq"), "seq"),
        fields=dict(msg),
    )


def _subscribed(frame: dict[str, Any], _recv_ns: int) -> Subscribed:
    msg = frame["msg"]
    return Subscribed(frame.get("id"), str(msg["channel"]), _int(msg["sid"], "sid"))


def _unsubscribed(frame: dict[str, Any], _recv_ns: int) -> Unsubscribed:
    return Unsubscribed(frame.get("id"), _int(frame["sid"], "sid"), _opt_int(frame.get("seq"), "seq"))


def _ok(frame: dict[str, Any], _recv_ns: int) -> Ok | ListSubscriptions:
    msg = frame.get("msg")
    if isinstance(msg, list):  # list_subscriptions answers with type "ok" and a list
        return ListSubscriptions(frame.get("id"), tuple(msg))
    tickers = msg.get("market_tickers") if isinstance(msg, dict) else None
    if tickers is None:
        tickers = ()
    elif not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers):
        raise FrameError(f"ok: expected a list of market_tickers, got {tickers!r}")
    return Ok(
        frame.get("id"),
        _opt_int(frame.get("sid"), "sid"),
        _opt_int(frame.get("seq"), "seq"),
        tuple(tickers or ()),
    )


def _error(frame: dict[str, Any], _recv_ns: int) -> ErrorReply:
    msg = frame["msg"]
    return ErrorReply(
        frame.get("id"),
        _int(msg["code"], "code"),
        str(msg.get("msg", "")),
        _opt_int(frame.get("sid"), "sid"),
        _opt_int(frame.get("seq"), "seq"),
    )


def _list_subscriptions(frame: dict[str, Any], _recv_ns: int) -> ListSubscriptions:
    return ListSubscriptions(frame.get("id"), tuple(frame.get("msg") or ()))


_PARSERS: dict[str, Callable[[dict[str, Any], int], Message]] = {
    "orderbook_snapshot": _snapshot,
    "orderbook_delta": _delta,
    "trade": _trade,
    "ticker": _ticker_update,
    "market_lifecycle_v2": _lifecycle,
    "market_lifecycle": _lifecycle,
    "subscribed": _subscribed,
    "unsubscribed": _unsubscribed,
    "ok": _ok,
    "error": _error,
    "list_subscriptions": _list_subscriptions,
}
