"""What the lake holds of each market of a series, open to settlement (``inspect data --series``).

The book of a market is *known* from each snapshot until the first of: a break of that
segment (``book_events`` of a break kind), the market's next snapshot, or the last row
recorded for the market (a book quiet until its settlement is still known: the settlement
frame is recorded on the same connection, which would have logged a break had it dropped).
Coverage is the share of the market's trading window, open to close, during which the book
was known. Rows and bytes are read from the files' footers and sizes on disk.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from kalshi_rl.core.errors import DataNotFoundError
from kalshi_rl.data.lake.market_summary import market_summaries
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.lake.tables import TABLES
from kalshi_rl.data.replay.lake import BREAK_KINDS

__all__ = ["SeriesMarket", "lake_series", "series_markets"]

_MS = 1_000_000


@dataclass
class SeriesMarket:
    """One market of a series as recorded."""

    market_ticker: str
    phase: str
    open_time_ms: int | None
    close_time_ms: int | None
    settled_ns: int | None
    """When its ``settled`` lifecycle frame was received; None if none was recorded."""
    first_ns: int | None = None
    """The first snapshot received."""
    last_ns: int | None = None
    """The last row recorded for the market (book, trade or lifecycle)."""
    covered_ns: int = 0
    """Time of the open-to-close window during which the book was known."""
    gaps: int = 0
    resyncs: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    """Rows per lake table."""
    bytes: int = 0
    """Bytes on disk of the market's files (every table partitioned by market)."""

    @property
    def window_ns(self) -> int | None:
        if self.open_time_ms is None or self.close_time_ms is None:
            return None
        return max(0, (self.close_time_ms - self.open_time_ms) * _MS)

    @property
    def coverage(self) -> float | None:
        """Share of open to close with the book known; None if open or close is unknown."""
        window = self.window_ns
        if window is None:
            return None
        return 1.0 if window == 0 else min(1.0, self.covered_ns / window)


def lake_series(reader: LakeReader) -> list[str]:
    """The series the lake's ``markets`` table names."""
    if "series_ticker" not in reader.columns("markets"):
        return []
    return [
        r[0]
        for r in reader.query(
            "SELECT DISTINCT series_ticker FROM markets WHERE series_ticker IS NOT NULL ORDER BY 1"
        )
    ]


def series_markets(reader: LakeReader, series: str) -> list[SeriesMarket]:
    """Every market of ``series`` in the lake, by open time; DataNotFoundError if none."""
    summaries = [s for s in market_summaries(reader).values() if s.series_ticker == series]
    if not summaries:
        known = lake_series(reader)
        held = f"series in it: {', '.join(known)}" if known else "it names no series (no market metadata)"
        raise DataNotFoundError(f"no market of series {series} in the lake at {reader.root}; {held}")
    markets = {
        s.market_ticker: SeriesMarket(s.market_ticker, s.phase, s.open_time_ms, s.close_time_ms, s.settled_ns)
        for s in summaries
    }
    tickers = list(markets)
    _book_counts(reader, markets, tickers)
    _coverage(reader, markets, tickers)
    _files(reader, markets)
    return sorted(markets.values(), key=lambda m: (m.open_time_ms or 0, m.market_ticker))


def _book_counts(reader: LakeReader, markets: dict[str, SeriesMarket], tickers: list[str]) -> None:
    if "book_events" not in reader.present:
        return
    for market, gaps, resyncs in reader.query(
        "SELECT market_ticker, count(*) FILTER (kind = 'gap'), count(*) FILTER (kind = 'resync') "
        "FROM book_events WHERE list_contains(?::VARCHAR[], market_ticker) GROUP BY 1",
        [tickers],
    ):
        markets[market].gaps, markets[market].resyncs = int(gaps), int(resyncs)


def _coverage(reader: LakeReader, markets: dict[str, SeriesMarket], tickers: list[str]) -> None:
    if "snapshots" not in reader.present:
        return
    recorded = [t for t in ("snapshots", "deltas", "trades", "lifecycle") if t in reader.present]
    union = " UNION ALL ".join(
        f"SELECT market_ticker, max(ts_recv_ns) AS last FROM {t} "
        "WHERE list_contains(?::VARCHAR[], market_ticker) GROUP BY 1"
        for t in recorded
    )
    last = dict(
        reader.query(f"SELECT market_ticker, max(last) FROM ({union}) GROUP BY 1", [tickers] * len(recorded))
    )
    breaks: dict[int, int] = {}
    if "book_events" in reader.present:
        breaks = dict(
            reader.query(
                "SELECT segment, min(ts_recv_ns) FROM book_events WHERE list_contains(?::VARCHAR[], market_ticker) "
                "AND list_contains(?::VARCHAR[], kind) AND segment IS NOT NULL GROUP BY 1",
                [tickers, list(BREAK_KINDS)],
            )
        )
    snapshots = reader.query(
        "SELECT market_ticker, segment, ts_recv_ns FROM snapshots "
        "WHERE list_contains(?::VARCHAR[], market_ticker) ORDER BY market_ticker, ts_recv_ns",
        [tickers],
    )
    for market, last_ns in last.items():
        markets[market].last_ns = last_ns
    for i, (market, segment, start_ns) in enumerate(snapshots):
        m = markets[market]
        m.first_ns = start_ns if m.first_ns is None else m.first_ns
        if m.open_time_ms is None or m.close_time_ms is None:
            continue
        end_ns = m.last_ns if m.last_ns is not None else start_ns
        if segment in breaks:
            end_ns = min(end_ns, breaks[segment])
        if i + 1 < len(snapshots) and snapshots[i + 1][0] == market:
            end_ns = min(end_ns, snapshots[i + 1][2])
        lo, hi = max(start_ns, m.open_time_ms * _MS), min(end_ns, m.close_time_ms * _MS)
        m.covered_ns += max(0, hi - lo)


def _files(reader: LakeReader, markets: dict[str, SeriesMarket]) -> None:
    for table, files in reader.files.items():
        if not TABLES[table].by_market:
            continue
        for path in files:
            market = _market_of(path)
            if market in markets:
                markets[market].rows[table] += pq.read_metadata(path).num_rows
                markets[market].bytes += path.stat().st_size


def _market_of(path: Path) -> str | None:
    name = path.parent.parent.name
    return name.removeprefix("market_ticker=") if name.startswith("market_ticker=") else None
