"""Preload a window of recorded books into arrays, once, for the training env.

``preload_lake`` reads the Parquet lake with DuckDB (``preload_postgres`` reads the spec's
PostgreSQL tables instead) and returns ``ReplayData``: one ``Segment`` per gap-free stretch of
one market's book: its opening snapshot and the deltas after it as numpy arrays, ending where
the collector saw a gap, a resync or a disconnect. Replay rebuilds the book with the same
``OrderbookState`` the live path uses. No database or file is touched after this returns.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kalshi_rl.core.errors import DataNotFoundError, InvalidValueError
from kalshi_rl.core.events import BookSnapshot, Level, Side
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.replay.meta import MarketMeta, market_meta

__all__ = [
    "BREAK_KINDS",
    "MarketMeta",
    "ReplayData",
    "Segment",
    "lake_time_range",
    "preload_lake",
    "replay_book",
]

BREAK_KINDS = (
    "gap",
    "disconnect",
    "inconsistent",
    "resubscribe",
    "unreadable",
    "crossed",
    "encoding_mismatch",
)
"""``book_events`` kinds after which a book is no longer known (``OrderbookClient``)."""


@dataclass
class Segment:
    """One market's book from a snapshot until the stream could no longer be trusted."""

    market_ticker: str
    segment: int
    snapshot_ns: int
    yes_bids: tuple[Level, ...]
    no_bids: tuple[Level, ...]
    ts_ns: np.ndarray  # int64, receive time of each delta
    is_yes: np.ndarray  # bool
    price_ticks: np.ndarray  # int32
    delta_units: np.ndarray  # int64
    end_ns: int  # last moment the book is known
    end_reason: str  # break | window_end | data_end

    @property
    def deltas(self) -> int:
        return len(self.ts_ns)

    def snapshot(self) -> BookSnapshot:
        return BookSnapshot(self.market_ticker, 0, 0, self.yes_bids, self.no_bids, None, self.snapshot_ns)

    def book_at_start(self) -> OrderbookState:
        book = OrderbookState(self.market_ticker)
        book.apply_snapshot(self.snapshot())
        return book


@dataclass
class ReplayData:
    """Everything preloaded for a window; the env reads only this."""

    markets: tuple[str, ...]
    start_ns: int
    end_ns: int
    segments: list[Segment]
    meta: dict[str, MarketMeta]
    source: str
    fingerprint: str = field(default="")
    series: str | None = None
    """The series whose markets these are (``train --series``), or None for a list of markets."""

    @property
    def rows(self) -> int:
        return sum(s.deltas for s in self.segments) + len(self.segments)

    def describe(self) -> dict[str, object]:
        return {
            **({"series": self.series} if self.series else {}),
            "markets": list(self.markets),
            "start": _iso(self.start_ns),
            "end": _iso(self.end_ns),
            "segments": len(self.segments),
            "deltas": sum(s.deltas for s in self.segments),
            "source": self.source,
            "fingerprint": self.fingerprint,
        }


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="seconds")


def _fingerprint(segments: list[Segment]) -> str:
    digest = hashlib.sha256()
    for s in segments:
        digest.update(f"{s.market_ticker}|{s.segment}|{s.snapshot_ns}|{s.end_ns}|{s.deltas}".encode())
        digest.update(repr((s.yes_bids, s.no_bids)).encode())
        for array in (s.ts_ns, s.is_yes, s.price_ticks, s.delta_units):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _levels(prices: list[int], sizes: list[int]) -> tuple[Level, ...]:
    """A snapshot side as (price, size) levels in ascending price order."""
    return tuple(sorted(zip(prices, sizes, strict=True)))


def lake_time_range(lake_dir: Path, markets: tuple[str, ...]) -> tuple[int, int]:
    """The first and last receive times of ``markets``' books in the lake."""
    reader = LakeReader(lake_dir)
    if "snapshots" not in reader.present:
        raise DataNotFoundError(_holdings(reader))
    tables = [t for t in ("snapshots", "deltas") if t in reader.present]
    union = " UNION ALL ".join(
        f"SELECT ts_recv_ns FROM {t} WHERE market_ticker IN (SELECT unnest(?::VARCHAR[]))" for t in tables
    )
    low, high = reader.query(
        f"SELECT min(ts_recv_ns), max(ts_recv_ns) FROM ({union})", [list(markets)] * len(tables)
    )[0]
    if low is None:
        raise DataNotFoundError(f"no data for market(s) {', '.join(markets)}; {_holdings(reader)}")
    return int(low), int(high)


def _holdings(reader: LakeReader) -> str:
    """A one-line account of what the lake holds, for error messages."""
    if "snapshots" not in reader.present:
        return f"the lake at {reader.root} holds no books (run `kalshi-rl collect`)"
    rows = reader.query(
        "SELECT market_ticker, min(ts_recv_ns), max(ts_recv_ns) FROM snapshots GROUP BY 1 ORDER BY 1"
    )
    held = "; ".join(f"{m} {_iso(a)}..{_iso(b)}" for m, a, b in rows)
    return f"the lake at {reader.root} holds: {held}"


def preload_lake(lake_dir: Path, markets: tuple[str, ...], start_ns: int, end_ns: int) -> ReplayData:
    """Load every segment of ``markets`` that has data in ``[start_ns, end_ns]``."""
    if end_ns <= start_ns:
        raise InvalidValueError("the window's end must be after its start")
    reader = LakeReader(lake_dir)
    if "snapshots" not in reader.present or not markets:
        raise DataNotFoundError(_holdings(reader))
    unknown = [m for m in markets if m not in reader.markets()]
    if unknown:
        raise DataNotFoundError(f"no data for market(s) {', '.join(unknown)}; {_holdings(reader)}")
    tickers = list(markets)
    snaps = reader.query(
        """
        SELECT s.market_ticker, s.segment, s.ts_recv_ns, s.yes_prices, s.yes_sizes, s.no_prices, s.no_sizes,
               s.sample_rate,
               coalesce((SELECT max(d.ts_recv_ns) FROM deltas d WHERE d.segment = s.segment), s.ts_recv_ns)
        FROM snapshots s
        WHERE s.market_ticker IN (SELECT unnest(?::VARCHAR[])) AND s.ts_recv_ns <= ?
        ORDER BY s.market_ticker, s.ts_recv_ns
        """
        if "deltas" in reader.present
        else """
        SELECT market_ticker, segment, ts_recv_ns, yes_prices, yes_sizes, no_prices, no_sizes, sample_rate, ts_recv_ns
        FROM snapshots WHERE market_ticker IN (SELECT unnest(?::VARCHAR[])) AND ts_recv_ns <= ?
        ORDER BY market_ticker, ts_recv_ns
        """,
        [tickers, end_ns],
    )
    breaks = _breaks(reader, tickers)
    next_snapshot = _next_snapshot_times(snaps)
    chosen = []
    for row in snaps:
        market, segment, snap_ns, *_, sample_rate, last_ns = row
        end, reason = _segment_end(segment, max(last_ns, snap_ns), breaks, next_snapshot, end_ns)
        if end < start_ns:
            continue
        if sample_rate != 1:
            raise InvalidValueError(
                f"segment {segment} of {market} was collected with --sample-rate {sample_rate}: "
                "its stored deltas cannot rebuild the book exactly"
            )
        chosen.append((row, end, reason))
    if not chosen:
        raise DataNotFoundError(
            f"no book data for {', '.join(markets)} between {_iso(start_ns)} and {_iso(end_ns)}; {_holdings(reader)}"
        )
    first_ns = min(row[2] for row, _, _ in chosen) - _EARLY_DELTA_NS
    arrays = _delta_arrays(reader, tickers, [row[1] for row, _, _ in chosen], first_ns, end_ns)
    segments = []
    for (market, segment, snap_ns, yp, ys, np_, ns_, _rate, _last), end, reason in chosen:
        ts, is_yes, price, delta = arrays.get(segment, _EMPTY)
        segments.append(
            Segment(
                market,
                segment,
                snap_ns,
                _levels(yp, ys),
                _levels(np_, ns_),
                ts,
                is_yes,
                price,
                delta,
                end,
                reason,
            )
        )
    data = ReplayData(
        tuple(markets), start_ns, end_ns, segments, market_meta(reader, tickers, start_ns, end_ns), "lake"
    )
    data.fingerprint = _fingerprint(segments)
    return data


_EARLY_DELTA_NS = 60 * 1_000_000_000
"""Deltas are read from a minute before the window's first snapshot: a recording may stamp a
delta (exchange time) slightly before the snapshot it follows (local time)."""

_EMPTY = (np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int32), np.zeros(0, np.int64))


def _segment_end(
    segment: int, last_ns: int, breaks: dict[int, int], next_snapshot: dict[int, int], end_ns: int
) -> tuple[int, str]:
    """Where a segment stops being trustworthy: a break, the market's next snapshot, or its data."""
    if segment in breaks or segment in next_snapshot:
        end, reason = min(breaks.get(segment, end_ns), next_snapshot.get(segment, end_ns)), "break"
    else:
        end, reason = last_ns, "data_end"
    return (end_ns, "window_end") if end >= end_ns else (end, reason)


def _breaks(reader: LakeReader, tickers: list[str]) -> dict[int, int]:
    if "book_events" not in reader.present:
        return {}
    rows = reader.query(
        "SELECT segment, min(ts_recv_ns) FROM book_events WHERE market_ticker IN (SELECT unnest(?::VARCHAR[])) "
        "AND kind IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [tickers, list(BREAK_KINDS)],
    )
    return dict(rows)


def _next_snapshot_times(snaps: list[tuple[Any, ...]]) -> dict[int, int]:
    """Segment -> receive time of the same market's next snapshot (``snaps`` sorted by market, time)."""
    return {int(a[1]): int(b[2]) for a, b in itertools.pairwise(snaps) if a[0] == b[0]}


def _delta_arrays(
    reader: LakeReader, tickers: list[str], segments: list[int], first_ns: int, end_ns: int
) -> dict[int, tuple[np.ndarray, ...]]:
    if "deltas" not in reader.present:
        return {}
    # A plain filtered scan keeps the files' (stream) order; the wanted segments are picked in
    # numpy (their ~1.8e18 ids must not go through a DOUBLE-typed list parameter).
    columns = reader.con.execute(
        "SELECT segment, seq, ts_recv_ns, side = 'yes' AS is_yes, price_ticks, delta_units FROM deltas "
        "WHERE list_contains(?::VARCHAR[], market_ticker) AND ts_recv_ns BETWEEN ? AND ?",
        [tickers, first_ns, end_ns],
    ).fetchnumpy()
    keep = np.isin(np.asarray(columns["segment"]), np.asarray(segments, dtype=np.int64))
    if not keep.all():
        columns = {name: np.asarray(values)[keep] for name, values in columns.items()}
    return split_by_segment(_in_stream_order(columns))


def _in_stream_order(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Order rows by (segment, seq). The lake's files already are, so usually this only checks
    (sorting 10 M rows in DuckDB took twice as long as reading them)."""
    segment, seq = np.asarray(columns["segment"]), np.asarray(columns["seq"])
    if len(segment) < 2:
        return columns
    step = np.diff(segment)
    if np.all((step > 0) | ((step == 0) & (np.diff(seq) > 0))):
        return columns
    order = np.lexsort((seq, segment))
    return {name: np.asarray(values)[order] for name, values in columns.items()}


def split_by_segment(columns: dict[str, np.ndarray]) -> dict[int, tuple[np.ndarray, ...]]:
    seg = np.asarray(columns["segment"], dtype=np.int64)
    if len(seg) == 0:
        return {}
    bounds = np.flatnonzero(np.diff(seg)) + 1
    starts = np.concatenate(([0], bounds))
    stops = np.concatenate((bounds, [len(seg)]))
    ts = np.asarray(columns["ts_recv_ns"], dtype=np.int64)
    is_yes = np.asarray(columns["is_yes"], dtype=bool)
    price = np.asarray(columns["price_ticks"], dtype=np.int32)
    delta = np.asarray(columns["delta_units"], dtype=np.int64)
    return {
        int(seg[a]): (ts[a:b], is_yes[a:b], price[a:b], delta[a:b])
        for a, b in zip(starts, stops, strict=True)
    }


def replay_book(segment: Segment, until_ns: int) -> OrderbookState:
    """Rebuild ``segment``'s book with every delta received at or before ``until_ns``."""
    book = segment.book_at_start()
    count = int(np.searchsorted(segment.ts_ns, until_ns, side="right"))
    apply = book.apply_delta
    for is_yes, price, delta in zip(
        segment.is_yes[:count].tolist(),
        segment.price_ticks[:count].tolist(),
        segment.delta_units[:count].tolist(),
        strict=True,
    ):
        apply(Side.YES if is_yes else Side.NO, price, delta)
    return book
