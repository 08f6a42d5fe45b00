"""Parse the ``market_lifecycle_v2`` channel's frames: market lifecycle, event lifecycle, fees.

The channel carries four payloads, all sequenced on its sid (AsyncAPI 2.0.0
``marketLifecycleV2``, ``marketMetadataUpdated``, ``eventLifecycle``, ``eventFeeUpdate``):
``market_lifecycle_v2`` with ``event_type`` created / activated / deactivated /
close_date_updated / price_level_structure_updated / determined / settled, or the
``metadata_updated`` shape; ``event_lifecycle``; ``event_fee_update``. A field of the wrong type,
a missing required field or an unknown enum value raises ``FrameError`` with the reason.
"""

from __future__ import annotations

from typing import Any

from kalshi_rl.core.errors import FrameError, InvalidValueError
from kalshi_rl.core.events import EventFeeUpdate, EventLifecycle, LifecycleEvent
from kalshi_rl.core.fee_schedule import FeeSchedule, FeeSource
from kalshi_rl.core.units import PRICE_SCALE, cents_to_ticks, parse_price_dollars
from kalshi_rl.kalshi import fields as f
from kalshi_rl.kalshi.timestamps import any_ts_to_ms

MARKET_EVENT_TYPES = frozenset(
    {
        "created",
        "activated",
        "deactivated",
        "close_date_updated",
        "price_level_structure_updated",
        "determined",
        "settled",
        "metadata_updated",  # its own payload shape, same message type
    }
)
RESULTS = frozenset({"yes", "no", "scalar", ""})
"""``Market.result`` (OpenAPI 3.31.0); the lifecycle frame's ``result`` has no enum of its own."""
COLLATERAL_RETURN_TYPES = frozenset({"MECNET", "DIRECNET", ""})
_LEGACY = "market_lifecycle"


def _sid_seq(frame: dict[str, Any], kind: str) -> tuple[int, int]:
    """Every frame of the channel is sequenced on its sid (the envelope checked the types)."""
    return f.req(frame, "sid", kind), f.req(frame, "seq", kind)


def parse_market_lifecycle(frame: dict[str, Any], recv_ns: int) -> LifecycleEvent:
    """A ``market_lifecycle_v2`` frame (or the legacy ``market_lifecycle``)."""
    kind = frame["type"]
    sid, seq = _sid_seq(frame, kind)
    msg = f.msg_of(frame, kind)
    ticker = f.req_str(msg, "market_ticker", kind, empty=False)
    event_type = f.req_str(msg, "event_type", kind, ticker)
    if event_type not in MARKET_EVENT_TYPES:
        raise FrameError(f"{kind}: unknown event_type {event_type!r}", ticker)
    if event_type == "metadata_updated":
        _check_metadata(msg, kind, ticker)
    f.opt_int(msg, "exchange_index", kind, ticker)
    result = f.opt_str(msg, "result", kind, ticker)
    if result is not None and result not in RESULTS:
        raise FrameError(f"{kind}: unknown result {result!r}", ticker)
    close_ms = f.opt_seconds_ms(msg, "close_ts", kind, ticker)
    if event_type == "close_date_updated" and close_ms is None:
        raise FrameError(f"{kind}: close_date_updated without close_ts", ticker)
    ranges = None
    if "price_ranges" in msg or event_type == "price_level_structure_updated":
        ranges = f.price_ranges(msg.get("price_ranges"), kind, ticker)
    metadata = f.opt_object(msg, "additional_metadata", kind, ticker)
    event_ticker = f.opt_str(metadata, "event_ticker", kind, ticker) if metadata else None
    determined_ms = f.opt_seconds_ms(msg, "determination_ts", kind, ticker)
    settled_ms = f.opt_seconds_ms(msg, "settled_ts", kind, ticker)
    return LifecycleEvent(
        market_ticker=ticker,
        event_type=event_type,
        ts_exchange_ms=determined_ms or settled_ms or any_ts_to_ms(msg.get("ts")),
        ts_recv_ns=recv_ns,
        result=result or None,
        settlement_ticks=_settlement(msg, kind, ticker),
        open_ts_ms=f.opt_seconds_ms(msg, "open_ts", kind, ticker),
        close_ts_ms=close_ms,
        sid=sid,
        seq=seq,
        fields=dict(msg),
        is_deactivated=f.opt_bool(msg, "is_deactivated", kind, ticker),
        price_level_structure=f.opt_str(msg, "price_level_structure", kind, ticker),
        price_ranges=ranges,
        event_ticker=event_ticker,
    )


def _settlement(msg: dict[str, Any], kind: str, ticker: str) -> int | None:
    """``settlement_value`` in fixed-point dollars (the legacy channel: integer cents)."""
    value = msg.get("settlement_value", msg.get("settlement_value_dollars"))
    if value is None:
        return None
    if type(value) is str:
        ticks = parse_price_dollars(value)
    elif type(value) is int and kind == _LEGACY:
        ticks = cents_to_ticks(value)
    else:
        raise FrameError(
            f"{kind}: expected a fixed-point dollar string settlement_value, got {value!r}", ticker
        )
    if not 0 <= ticks <= PRICE_SCALE:
        raise FrameError(f"{kind}: settlement_value {value!r} outside [0, 1]", ticker)
    return ticks


def _check_metadata(msg: dict[str, Any], kind: str, ticker: str) -> None:
    """The ``metadata_updated`` shape: every optional field, when present, has its type."""
    f.opt_str(msg, "strike_type", kind, ticker)
    f.opt_number(msg, "floor_strike", kind, ticker)
    f.opt_number(msg, "cap_strike", kind, ticker)
    f.opt_object(msg, "custom_strike", kind, ticker)
    f.opt_str(msg, "yes_sub_title", kind, ticker)


def parse_event_lifecycle(frame: dict[str, Any], recv_ns: int) -> EventLifecycle:
    """An ``event_lifecycle`` frame: an event was created."""
    kind = "event_lifecycle"
    sid, seq = _sid_seq(frame, kind)
    msg = f.msg_of(frame, kind)
    collateral = f.req_str(msg, "collateral_return_type", kind)
    if collateral not in COLLATERAL_RETURN_TYPES:
        raise FrameError(f"{kind}: unknown collateral_return_type {collateral!r}")
    return EventLifecycle(
        event_ticker=f.req_str(msg, "event_ticker", kind, empty=False),
        series_ticker=f.req_str(msg, "series_ticker", kind, empty=False),
        title=f.req_str(msg, "title", kind),
        subtitle=f.req_str(msg, "subtitle", kind),
        collateral_return_type=collateral,
        exchange_index=f.req_int(msg, "exchange_index", kind),
        ts_recv_ns=recv_ns,
        strike_date_ms=f.opt_seconds_ms(msg, "strike_date", kind),
        strike_period=f.opt_str(msg, "strike_period", kind),
        sid=sid,
        seq=seq,
        fields=dict(msg),
    )


def parse_event_fee_update(frame: dict[str, Any], recv_ns: int) -> EventFeeUpdate:
    """An ``event_fee_update`` frame: an event's fee override set, or cleared (both null)."""
    kind = "event_fee_update"
    sid, seq = _sid_seq(frame, kind)
    msg = f.msg_of(frame, kind)
    event_ticker = f.req_str(msg, "event_ticker", kind, empty=False)
    fee_type = f.req(msg, "fee_type_override", kind)
    multiplier = f.req(msg, "fee_multiplier_override", kind)
    if (fee_type is None) != (multiplier is None):
        raise FrameError(
            f"{kind}: fee_type_override {fee_type!r} and fee_multiplier_override {multiplier!r} "
            "must both be set or both be null"
        )
    override = None
    if fee_type is not None:
        if type(multiplier) not in (int, float):  # a JSON number, never a string
            raise FrameError(f"{kind}: expected a number fee_multiplier_override, got {multiplier!r}")
        try:
            override = FeeSchedule.parse(fee_type, multiplier, FeeSource.EVENT_OVERRIDE)
        except InvalidValueError as exc:
            raise FrameError(f"{kind}: {exc}") from None
    return EventFeeUpdate(event_ticker, override, recv_ns, sid, seq, dict(msg))
