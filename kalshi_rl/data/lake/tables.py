"""The lake's tables and their Arrow schemas (one row per event; exact integer units).

Every row carries the local receive time ``ts_recv_ns`` and, where Kalshi gives one, the
exchange time ``ts_exchange_ms``; stream rows also say where in the stream they came from
(``session_id``, ``conn_id``, ``sid``, ``seq``) and which gap-free ``segment`` of the book
they belong to (a segment starts at a snapshot and ends at a gap, resync or disconnect).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

_STREAM = [
    ("market_ticker", pa.string()),
    ("ts_exchange_ms", pa.int64()),
    ("ts_recv_ns", pa.int64()),
    ("session_id", pa.string()),
    ("conn_id", pa.int32()),
    ("sid", pa.int32()),
    ("seq", pa.int64()),
]


@dataclass(frozen=True)
class LakeTable:
    name: str
    schema: pa.Schema
    by_market: bool  # partitioned by market_ticker as well as by date

    @property
    def columns(self) -> list[str]:
        return self.schema.names


SNAPSHOTS = LakeTable(
    "snapshots",
    pa.schema(
        _STREAM
        + [
            ("segment", pa.int64()),
            ("yes_prices", pa.list_(pa.int32())),
            ("yes_sizes", pa.list_(pa.int64())),
            ("no_prices", pa.list_(pa.int32())),
            ("no_sizes", pa.list_(pa.int64())),
            ("sample_rate", pa.int32()),
            # How the NO side came on the wire: True = YES-leg prices (use_yes_price), so
            # ``frames.raw`` of this segment's book frames is read with that encoding. The
            # prices stored here are always NO prices.
            ("yes_price", pa.bool_()),
        ]
    ),
    by_market=True,
)
DELTAS = LakeTable(
    "deltas",
    pa.schema(
        _STREAM
        + [
            ("segment", pa.int64()),
            ("side", pa.string()),  # "yes" | "no": which bid ladder
            ("price_ticks", pa.int32()),
            ("delta_units", pa.int64()),
            ("size_after", pa.int64()),
        ]
    ),
    by_market=True,
)
TRADES = LakeTable(
    "trades",
    pa.schema(
        _STREAM
        + [
            ("trade_id", pa.string()),
            ("yes_price_ticks", pa.int32()),
            ("count_units", pa.int64()),
            ("taker_side", pa.string()),
        ]
    ),
    by_market=True,
)
LIFECYCLE = LakeTable(
    "lifecycle",
    pa.schema(
        [
            ("market_ticker", pa.string()),
            ("ts_exchange_ms", pa.int64()),
            ("ts_recv_ns", pa.int64()),
            ("session_id", pa.string()),
            ("event_type", pa.string()),
            ("result", pa.string()),
            ("settlement_ticks", pa.int32()),
            ("open_ts_ms", pa.int64()),
            ("close_ts_ms", pa.int64()),
            ("payload", pa.string()),
            ("conn_id", pa.int32()),
            ("sid", pa.int32()),
            ("seq", pa.int64()),
            ("is_deactivated", pa.bool_()),
            ("price_ranges", pa.string()),  # JSON [[start, end, step], ...] in ticks, or null
        ]
    ),
    by_market=True,
)
MARKETS = LakeTable(
    "markets",
    pa.schema(
        [
            ("market_ticker", pa.string()),
            ("ts_recv_ns", pa.int64()),
            ("session_id", pa.string()),
            ("status", pa.string()),
            ("open_time_ms", pa.int64()),
            ("close_time_ms", pa.int64()),
            ("expiration_time_ms", pa.int64()),
            ("result", pa.string()),
            ("settlement_ticks", pa.int32()),
            ("price_level_structure", pa.string()),
            ("price_ranges", pa.string()),  # JSON [[start, end, step], ...] in ticks
            ("raw", pa.string()),
            ("event_ticker", pa.string()),
            ("series_ticker", pa.string()),
            # The fee schedule in force when fetched (FeeSchedule: type, exact decimal multiplier,
            # source series | event_override | default), and the series' own.
            ("fee_type", pa.string()),
            ("fee_multiplier", pa.string()),
            ("fee_source", pa.string()),
            ("series_fee_type", pa.string()),
            ("series_fee_multiplier", pa.string()),
        ]
    ),
    by_market=True,
)
EVENTS = LakeTable(
    "events",
    pa.schema(
        [
            ("ts_recv_ns", pa.int64()),
            ("session_id", pa.string()),
            ("conn_id", pa.int32()),
            ("sid", pa.int32()),
            ("seq", pa.int64()),
            ("type", pa.string()),  # event_lifecycle | event_fee_update
            ("event_ticker", pa.string()),
            ("series_ticker", pa.string()),
            # event_fee_update: the override (both null = override cleared)
            ("fee_type", pa.string()),
            ("fee_multiplier", pa.string()),
            ("payload", pa.string()),
        ]
    ),
    by_market=False,
)
BOOK_EVENTS = LakeTable(
    "book_events",
    pa.schema(
        [
            ("market_ticker", pa.string()),
            ("ts_recv_ns", pa.int64()),
            ("session_id", pa.string()),
            ("conn_id", pa.int32()),
            # gap | disconnect | resubscribe | inconsistent | unreadable | crossed | encoding_mismatch
            # (the book breaks) | resync | unsubscribable | <channel>_<break> (other channels)
            ("kind", pa.string()),
            ("sid", pa.int32()),
            ("expected_seq", pa.int64()),
            ("got_seq", pa.int64()),
            ("segment", pa.int64()),
            ("detail", pa.string()),
        ]
    ),
    by_market=True,
)
QUARANTINE = LakeTable(
    "quarantine",
    pa.schema(
        [
            ("ts_recv_ns", pa.int64()),
            ("session_id", pa.string()),
            ("conn_id", pa.int32()),
            ("market_ticker", pa.string()),
            ("reason", pa.string()),
            ("raw", pa.string()),
        ]
    ),
    by_market=False,
)
FRAMES = LakeTable(
    "frames",
    pa.schema(
        [
            ("ts_recv_ns", pa.int64()),
            ("session_id", pa.string()),
            ("conn_id", pa.int32()),
            # applied | sampled | stale | quarantined | control | retired_sid | other_market
            # | released_market
            ("disposition", pa.string()),
            ("market_ticker", pa.string()),
            ("raw", pa.string()),
        ]
    ),
    by_market=False,
)

TABLES: dict[str, LakeTable] = {
    t.name: t
    for t in (SNAPSHOTS, DELTAS, TRADES, LIFECYCLE, MARKETS, EVENTS, BOOK_EVENTS, QUARANTINE, FRAMES)
}


def rows_to_table(table: LakeTable, rows: list[tuple[object, ...]]) -> pa.Table:
    """Build an Arrow table from row tuples in schema column order (column-wise, fast)."""
    schema = table.schema
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)
