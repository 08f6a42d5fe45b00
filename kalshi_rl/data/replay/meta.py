"""``MarketMeta``: what replay knows of each market besides its book, read from the lake.

Close time and price grid: the latest known at the window's end, from the REST rows
(``markets``) and the lifecycle frames (``created``, ``close_date_updated``,
``price_level_structure_updated``), whichever was received last. Settlement: the first
``determined`` frame before the window's end. Fees: the schedule in force at the window's start
and each change after it (``markets`` rows carry the schedule fetched over REST, ``events`` rows
the ``event_fee_update`` overrides of the market's event), so the env can charge the schedule in
force at each fill. Columns an older lake lacks are treated as unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kalshi_rl.core.events import PriceRanges
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE, FeeSchedule, FeeSource, effective_schedule
from kalshi_rl.data.lake.reader import LakeReader

FeeChanges = tuple[tuple[int, FeeSchedule], ...]


@dataclass(frozen=True)
class MarketMeta:
    """What the env needs to know about a market: its close, settlement, price grid and fees."""

    ticker: str
    open_time_ms: int | None = None
    close_time_ms: int | None = None
    result: str | None = None
    settlement_ticks: int | None = None
    determined_ns: int | None = None
    price_ranges: PriceRanges = ()
    """The latest price grid in ticks (empty: unknown, any tick)."""
    fees: FeeChanges = ()
    """``(effective_from_ns, schedule)`` in time order, the first from the window's start
    (empty: nothing known, Kalshi's default schedule applies)."""

    def fee_at(self, ns: int) -> FeeSchedule:
        """The schedule in force at ``ns``."""
        current = DEFAULT_FEE_SCHEDULE
        for at_ns, schedule in self.fees:
            if at_ns > ns:
                break
            current = schedule
        return current


def market_meta(reader: LakeReader, tickers: list[str], start_ns: int, end_ns: int) -> dict[str, MarketMeta]:
    """Return ``MarketMeta`` for each of ``tickers`` over the window ``[start_ns, end_ns]``."""
    meta: dict[str, dict[str, Any]] = {t: {} for t in tickers}
    for ticker, key, value in _latest(reader, tickers, end_ns):
        meta[ticker][key] = value
    if "lifecycle" in reader.present:
        for ticker, result, settlement, at_ns in reader.query(
            "SELECT market_ticker, arg_min(result, ts_recv_ns), arg_min(settlement_ticks, ts_recv_ns), "
            "min(ts_recv_ns) FROM lifecycle WHERE event_type = 'determined' "
            "AND market_ticker IN (SELECT unnest(?::VARCHAR[])) AND ts_recv_ns <= ? GROUP BY 1",
            [tickers, end_ns],
        ):
            meta[ticker].update(result=result, settlement_ticks=settlement, determined_ns=at_ns)
    fees = _fee_changes(reader, tickers, start_ns, end_ns)
    return {t: MarketMeta(t, **values, fees=fees.get(t, ())) for t, values in meta.items()}


def _latest(reader: LakeReader, tickers: list[str], end_ns: int) -> list[tuple[str, str, Any]]:
    """(ticker, field, value) of the open time, close time and grid last received by ``end_ns``."""
    rows: list[tuple[str, int, str, Any]] = []  # ticker, received, field, value
    if "markets" in reader.present:
        for ticker, at_ns, open_ms, close_ms, ranges in reader.query(
            "SELECT market_ticker, ts_recv_ns, open_time_ms, close_time_ms, price_ranges FROM markets "
            "WHERE market_ticker IN (SELECT unnest(?::VARCHAR[]))",
            [tickers],
        ):
            rows += [(ticker, at_ns, "open_time_ms", open_ms), (ticker, at_ns, "close_time_ms", close_ms)]
            rows.append((ticker, at_ns, "price_ranges", _ranges(ranges)))
    if "lifecycle" in reader.present:
        grid = "price_ranges" if "price_ranges" in reader.columns("lifecycle") else "NULL"
        for ticker, at_ns, event_type, open_ms, close_ms, ranges in reader.query(
            f"SELECT market_ticker, ts_recv_ns, event_type, open_ts_ms, close_ts_ms, {grid} FROM lifecycle "
            "WHERE market_ticker IN (SELECT unnest(?::VARCHAR[])) "
            "AND event_type IN ('created', 'close_date_updated', 'price_level_structure_updated')",
            [tickers],
        ):
            if event_type == "created":
                rows.append((ticker, at_ns, "open_time_ms", open_ms))
            if event_type != "price_level_structure_updated":
                rows.append((ticker, at_ns, "close_time_ms", close_ms))
            rows.append((ticker, at_ns, "price_ranges", _ranges(ranges)))
    chosen: dict[tuple[str, str], tuple[bool, int, Any]] = {}
    for ticker, at_ns, key, value in rows:
        if value is None or value == ():
            continue
        # The latest received by the window's end; failing that, the earliest after it.
        rank = (at_ns <= end_ns, at_ns if at_ns <= end_ns else -at_ns)
        best = chosen.get((ticker, key))
        if best is None or rank > best[:2]:
            chosen[(ticker, key)] = (*rank, value)
    return [(ticker, key, value) for (ticker, key), (_, _, value) in sorted(chosen.items())]


def _ranges(text: str | None) -> PriceRanges | None:
    if not text:
        return None
    return tuple((int(a), int(b), int(c)) for a, b, c in json.loads(text)) or None


def _fee_changes(reader: LakeReader, tickers: list[str], start_ns: int, end_ns: int) -> dict[str, FeeChanges]:
    """Each market's fee schedule at ``start_ns`` and its changes up to ``end_ns``."""
    if "markets" not in reader.present or "fee_type" not in reader.columns("markets"):
        return {}
    steps: dict[str, list[tuple[int, int, str, Any]]] = {}  # ticker -> (ns, order, kind, value)
    events: dict[str, set[str]] = {}
    for ticker, at_ns, fee_type, multiplier, source, series_type, series_multiplier, event in reader.query(
        "SELECT market_ticker, ts_recv_ns, fee_type, fee_multiplier, fee_source, series_fee_type, "
        "series_fee_multiplier, event_ticker FROM markets "
        "WHERE market_ticker IN (SELECT unnest(?::VARCHAR[])) AND fee_type IS NOT NULL AND ts_recv_ns <= ?",
        [tickers, end_ns],
    ):
        series = FeeSchedule.parse(series_type, series_multiplier) if series_type else None
        override = (
            FeeSchedule.parse(fee_type, multiplier, FeeSource.EVENT_OVERRIDE)
            if source == "event_override"
            else None
        )
        steps.setdefault(ticker, []).append((at_ns, 0, "rest", (series, override)))
        if event:
            events.setdefault(event, set()).add(ticker)
    if events and "events" in reader.present:
        for event, at_ns, fee_type, multiplier in reader.query(
            "SELECT event_ticker, ts_recv_ns, fee_type, fee_multiplier FROM events WHERE type = 'event_fee_update' "
            "AND event_ticker IN (SELECT unnest(?::VARCHAR[])) AND ts_recv_ns <= ?",
            [sorted(events), end_ns],
        ):
            override = FeeSchedule.parse(fee_type, multiplier, FeeSource.EVENT_OVERRIDE) if fee_type else None
            for ticker in events[event]:
                steps[ticker].append((at_ns, 1, "event", override))
    return {ticker: _fold(sorted(s, key=lambda x: x[:2]), start_ns) for ticker, s in steps.items()}


def _fold(steps: list[tuple[int, int, str, Any]], start_ns: int) -> FeeChanges:
    series: FeeSchedule | None = None
    override: FeeSchedule | None = None
    changes: list[tuple[int, FeeSchedule]] = [(start_ns, DEFAULT_FEE_SCHEDULE)]
    for at_ns, _, kind, value in steps:
        if kind == "rest":
            series, override = value
        else:
            override = value
        schedule = effective_schedule(series, override)
        at = max(at_ns, start_ns)  # what held before the window is in force at its start
        if changes and changes[-1][0] == at:
            changes.pop()
        if not changes or changes[-1][1] != schedule:
            changes.append((at, schedule))
    return tuple(changes)
