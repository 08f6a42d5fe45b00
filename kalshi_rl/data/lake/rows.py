"""Rows of the lake's metadata tables, in their schemas' column order (``tables.py``).

The hot stream rows (deltas, snapshots, frames) are built where they are enqueued; these are
the rarer rows whose values need converting (fee schedules, price grids, JSON payloads).
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from kalshi_rl.core.events import (
    BookSnapshot,
    EventFeeUpdate,
    EventLifecycle,
    LifecycleEvent,
    MarketInfo,
    PriceRanges,
    Trade,
)
from kalshi_rl.core.fee_schedule import FeeSchedule

Row = tuple[Any, ...]


def decimal_text(value: Fraction) -> str:
    """``value`` as an exact decimal (``"0.0175"``); ``"p/q"`` if no finite decimal is exact."""
    for digits in range(19):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            break
    else:
        return str(value)
    sign, units = ("-" if scaled < 0 else ""), abs(scaled.numerator)
    whole, frac = divmod(units, 10**digits)
    text = f"{frac:0{digits}d}".rstrip("0") if digits else ""
    return f"{sign}{whole}.{text}" if text else f"{sign}{whole}"


def ranges_json(ranges: PriceRanges | None) -> str | None:
    return None if ranges is None else json.dumps([list(r) for r in ranges])


def _fee(schedule: FeeSchedule | None) -> tuple[str | None, str | None]:
    if schedule is None:
        return None, None
    return schedule.fee_type.value, decimal_text(schedule.multiplier)


def snapshot_row(snap: BookSnapshot, session_id: str, conn_id: int, segment: int, sample_rate: int) -> Row:
    yes, no = snap.yes_bids, snap.no_bids
    return (
        snap.market_ticker,
        snap.ts_exchange_ms,
        snap.ts_recv_ns,
        session_id,
        conn_id,
        snap.sid,
        snap.seq,
        segment,
        [p for p, _ in yes],
        [s for _, s in yes],
        [p for p, _ in no],
        [s for _, s in no],
        sample_rate,
        snap.yes_price,
    )


def trade_row(trade: Trade, session_id: str, conn_id: int) -> Row:
    return (
        trade.market_ticker,
        trade.ts_exchange_ms,
        trade.ts_recv_ns,
        session_id,
        conn_id,
        trade.sid,
        trade.seq,
        trade.trade_id,
        trade.yes_price_ticks,
        trade.count_units,
        trade.taker_side.value,
    )


def lifecycle_row(event: LifecycleEvent, session_id: str, conn_id: int) -> Row:
    return (
        event.market_ticker,
        event.ts_exchange_ms,
        event.ts_recv_ns,
        session_id,
        event.event_type,
        event.result,
        event.settlement_ticks,
        event.open_ts_ms,
        event.close_ts_ms,
        json.dumps(event.fields, default=str),
        conn_id,
        event.sid,
        event.seq,
        event.is_deactivated,
        ranges_json(event.price_ranges),
    )


def event_row(event: EventLifecycle | EventFeeUpdate, session_id: str, conn_id: int) -> Row:
    fee: tuple[str | None, str | None] = (None, None)
    if isinstance(event, EventLifecycle):
        kind, series = "event_lifecycle", event.series_ticker
    else:
        kind, series, fee = "event_fee_update", None, _fee(event.fee_override)
    return (
        event.ts_recv_ns,
        session_id,
        conn_id,
        event.sid,
        event.seq,
        kind,
        event.event_ticker,
        series,
        *fee,
        json.dumps(event.fields, default=str),
    )


def market_row(
    info: MarketInfo,
    recv_ns: int,
    session_id: str,
    series_ticker: str | None,
    fees: FeeSchedule,
    series_fee: FeeSchedule | None,
) -> Row:
    return (
        info.ticker,
        recv_ns,
        session_id,
        info.status,
        info.open_time_ms,
        info.close_time_ms,
        info.expiration_time_ms,
        info.result,
        info.settlement_ticks,
        info.price_level_structure,
        json.dumps([list(r) for r in info.price_ranges]),
        json.dumps(info.raw, default=str),
        info.event_ticker,
        series_ticker,
        *_fee(fees),
        fees.source.value,
        *_fee(series_fee),
    )
