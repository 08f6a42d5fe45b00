"""Replies to our commands: ``subscribed``, ``unsubscribed``, ``ok``, ``error``, list_subscriptions.

Shapes from AsyncAPI 2.0.0: ``subscribed`` carries its sid in ``msg``; ``unsubscribed``
carries a top-level sid and seq; ``ok`` answers ``update_subscription`` (sid, seq and the full
ticker list, all optional) and, with a list ``msg``, ``list_subscriptions``; ``error`` carries
``msg.code`` and ``msg.msg``, and a sid (and seq) when it concerns one subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kalshi_rl.core.errors import FrameError
from kalshi_rl.kalshi import fields as f

TERMINAL_ERROR_CODES = frozenset({10, 25})
"""Channel error and subscription buffer overflow: the subscription ends (AsyncAPI)."""


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
    market_tickers: tuple[str, ...] = ()
    """The markets the error names (``msg.market_ticker`` / ``msg.market_tickers``)."""

    @property
    def is_terminal(self) -> bool:
        """Codes 10 (channel error) and 25 (buffer overflow) end the subscription."""
        return self.code in TERMINAL_ERROR_CODES


@dataclass(frozen=True, slots=True)
class ListSubscriptions:
    id: int | None
    subscriptions: tuple[dict[str, Any], ...]


ControlReply = Subscribed | Unsubscribed | Ok | ErrorReply | ListSubscriptions


def _id(frame: dict[str, Any]) -> int | None:
    return f.opt_int(frame, "id", str(frame.get("type")))


def parse_subscribed(frame: dict[str, Any], _recv_ns: int, _yes_price: bool = False) -> Subscribed:
    msg = f.msg_of(frame, "subscribed")
    sid = f.req(msg, "sid", "subscribed")
    if type(sid) is not int:
        raise FrameError(f"expected integer sid, got {sid!r}")
    return Subscribed(_id(frame), f.req_str(msg, "channel", "subscribed"), sid)


def parse_unsubscribed(frame: dict[str, Any], _recv_ns: int, _yes_price: bool = False) -> Unsubscribed:
    sid, seq = f.req(frame, "sid", "unsubscribed"), f.req(frame, "seq", "unsubscribed")
    return Unsubscribed(_id(frame), sid, seq)


def parse_ok(frame: dict[str, Any], _recv_ns: int, _yes_price: bool = False) -> Ok | ListSubscriptions:
    msg = frame.get("msg")
    if isinstance(msg, list):  # list_subscriptions answers with type "ok" and a list
        return ListSubscriptions(_id(frame), tuple(msg))
    if msg is not None and not isinstance(msg, dict):
        raise FrameError(f"ok: expected an object or a list msg, got {msg!r}")
    tickers = msg.get("market_tickers") if isinstance(msg, dict) else None
    if tickers is None:
        tickers = ()
    elif not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers):
        raise FrameError(f"ok: expected a list of market_tickers, got {tickers!r}")
    return Ok(_id(frame), frame.get("sid"), frame.get("seq"), tuple(tickers))


def parse_error(frame: dict[str, Any], _recv_ns: int, _yes_price: bool = False) -> ErrorReply:
    msg = f.msg_of(frame, "error")
    code = f.req(msg, "code", "error")
    if type(code) is not int:
        raise FrameError(f"error: expected an integer code, got {code!r}")
    single = f.opt_str(msg, "market_ticker", "error")
    many = msg.get("market_tickers")
    if many is not None and (type(many) is not list or not all(type(t) is str for t in many)):
        raise FrameError(f"error: expected a list of market_tickers, got {many!r}")
    tickers = tuple(dict.fromkeys(([single] if single else []) + (many or [])))
    text = msg.get("msg", "")
    return ErrorReply(
        _id(frame),
        code,
        text if type(text) is str else str(text),
        frame.get("sid"),
        frame.get("seq"),
        tickers,
    )


def parse_list_subscriptions(
    frame: dict[str, Any], _recv_ns: int, _yes_price: bool = False
) -> ListSubscriptions:
    return ListSubscriptions(_id(frame), tuple(frame.get("msg") or ()))
