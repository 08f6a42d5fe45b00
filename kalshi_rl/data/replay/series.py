"""The markets of a series that have book data in a window (``train --series``, ``evaluate --series``).

A market belongs to series ``S`` when the lake's ``markets`` table (the REST answers the
collector stores) says so: its ``series_ticker`` is ``S``, or its ``event_ticker`` is an event
of ``S`` (an ``event_lifecycle`` row in ``events``, for rows written before the collector
knew the series). It has data in ``[start, end]`` when its recorded books (snapshots and
deltas) reach into the window. PostgreSQL holds no market metadata (the spec's tables have
no series, event or close time), so a series is always resolved from the lake; its books
can then be read from either source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kalshi_rl.core.errors import DataNotFoundError
from kalshi_rl.data.lake.reader import LakeReader

__all__ = ["SeriesMarket", "lake_series", "series_markets"]


@dataclass(frozen=True)
class SeriesMarket:
    """One market of a series, with the span of its recorded books."""

    ticker: str
    first_ns: int | None
    last_ns: int | None


def _iso(ns: int | None) -> str:
    if ns is None:
        return "no books"
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="seconds")


def _membership(reader: LakeReader) -> dict[str, set[str]]:
    """Series -> the markets the lake assigns to it."""
    if "markets" not in reader.present:
        return {}
    columns = reader.columns("markets")
    if "series_ticker" not in columns:
        return {}
    by_event = ""
    if "events" in reader.present and "event_ticker" in columns:
        # A market row without its series: its event's series, from the event_lifecycle frames.
        by_event = (
            " UNION SELECT DISTINCT e.series_ticker, m.market_ticker FROM markets m "
            "JOIN events e ON e.event_ticker = m.event_ticker "
            "WHERE m.series_ticker IS NULL AND e.series_ticker IS NOT NULL"
        )
    rows = reader.query(
        "SELECT DISTINCT series_ticker, market_ticker FROM markets WHERE series_ticker IS NOT NULL" + by_event
    )
    series: dict[str, set[str]] = {}
    for name, market in rows:
        series.setdefault(str(name), set()).add(str(market))
    return series


def _spans(reader: LakeReader, markets: list[str]) -> dict[str, tuple[int, int]]:
    """Market -> (first, last) receive time of its books."""
    tables = [t for t in ("snapshots", "deltas") if t in reader.present]
    if not tables or not markets:
        return {}
    union = " UNION ALL ".join(
        f"SELECT market_ticker, ts_recv_ns FROM {t} WHERE market_ticker IN (SELECT unnest(?::VARCHAR[]))"
        for t in tables
    )
    rows = reader.query(
        f"SELECT market_ticker, min(ts_recv_ns), max(ts_recv_ns) FROM ({union}) GROUP BY 1",
        [markets] * len(tables),
    )
    return {str(m): (int(a), int(b)) for m, a, b in rows}


def lake_series(lake_dir: Path) -> dict[str, list[SeriesMarket]]:
    """Every series the lake knows, with its markets in order of their first book."""
    reader = LakeReader(lake_dir)
    membership = _membership(reader)
    spans = _spans(reader, sorted({m for ms in membership.values() for m in ms}))
    out: dict[str, list[SeriesMarket]] = {}
    for name, markets in sorted(membership.items()):
        rows = [SeriesMarket(m, *spans.get(m, (None, None))) for m in markets]
        out[name] = sorted(rows, key=lambda r: (r.first_ns is None, r.first_ns or 0, r.ticker))
    return out


def _holdings(lake_dir: Path, known: dict[str, list[SeriesMarket]]) -> str:
    """One line saying which series the lake holds (for error messages)."""
    if not known:
        return f"the lake at {lake_dir} records no series (no markets table with series_ticker: run `kalshi-rl collect`)"
    parts = []
    for name, markets in known.items():
        firsts = [m.first_ns for m in markets if m.first_ns is not None]
        lasts = [m.last_ns for m in markets if m.last_ns is not None]
        span = f"{_iso(min(firsts))}..{_iso(max(lasts))}" if firsts else "no books"
        parts.append(f"{name} ({len(markets)} market(s), {span})")
    return f"the lake at {lake_dir} holds series: {'; '.join(parts)}"


def series_markets(
    lake_dir: Path, series: str, start_ns: int | None = None, end_ns: int | None = None
) -> tuple[str, ...]:
    """The markets of ``series`` whose books reach into ``[start_ns, end_ns]`` (either end open),
    in order of their first book; ``DataNotFoundError`` saying what the lake holds if none."""
    known = lake_series(lake_dir)
    if series not in known:
        raise DataNotFoundError(f"no market of series {series} in the lake; {_holdings(lake_dir, known)}")
    low = start_ns if start_ns is not None else -(2**63)
    high = end_ns if end_ns is not None else 2**63 - 1
    chosen = tuple(
        m.ticker
        for m in known[series]
        if m.first_ns is not None and m.last_ns is not None and m.first_ns <= high and m.last_ns >= low
    )
    if not chosen:
        window = f"between {_iso(start_ns) if start_ns else 'the start'} and {_iso(end_ns) if end_ns else 'the end'}"
        raise DataNotFoundError(
            f"no market of series {series} has book data {window}; {_holdings(lake_dir, known)}"
        )
    return chosen
