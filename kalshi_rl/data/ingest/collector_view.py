"""``CollectorView``: what a running collector shows of itself, readable with hundreds of markets.

``Collector.view(top=N)`` returns one immutable ``CollectorView``: totals over every market,
the ``N`` most active markets, the markets with a problem (a stale book, a refused market, a
market that trades but has no book yet, gaps or quarantined frames), one row per collected
series (including one that is waiting for its next market), the sinks' health, and how many
markets have finished (settled, unsubscribed and released). Renderers (``cli/collect.py``)
only format it; nothing here touches a terminal.

Rates (msgs/s) are measured between two calls of the same ``ViewBuilder`` (the first call
reports 0), so a renderer that refreshes four times a second shows rates over its refresh.
Prices are integer ticks (``core.units.format_price`` formats them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.market_stats import FinishedMarket, MarketStats

ACTIVE_PHASES = frozenset({"unknown", "created", "active", "paused"})
"""Phases of a market that is open or about to open (a series with none of them is waiting)."""


@dataclass(frozen=True, slots=True)
class MarketRow:
    """One market being recorded."""

    ticker: str
    series: str | None
    phase: str
    """Lifecycle phase: unknown, created, active, paused, closed, determined or settled."""
    state: str
    """``live``, ``stale`` (resyncing), ``no book`` (no snapshot yet), ``unsubscribable``, or
    the phase when the market does not trade (created, paused, closed, determined, settled)."""
    yes_bid: int | None
    yes_ask: int | None
    spread: int | None
    msgs_per_s: float
    frames: int
    deltas: int
    trades: int
    last_seq: int
    gaps: int
    resyncs: int
    quarantined: int
    unsubscribable: str
    """Why the exchange refused this market (empty: it did not)."""
    problems: tuple[str, ...]
    """Short descriptions of what is wrong, most serious first (empty: nothing)."""


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """One series given with ``--series``: its markets now, and whether it waits for one."""

    series: str
    markets: int
    """Markets of the series being recorded now."""
    trading: int
    """Of those, the ones open for trading (phase active)."""
    finished: int
    """Markets of the series recorded to their settlement and released."""
    waiting: bool
    """No market of the series is open or about to open: the collector waits for the next."""
    note: str
    """What the collector is doing for the series, in words (``waiting for a market to open``)."""


@dataclass(frozen=True, slots=True)
class SinkRow:
    name: str
    rows_written: int
    healthy: bool
    backlog_rows: int
    last_error: str


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over every market of the session (finished ones included where they count)."""

    markets: int
    """Markets being recorded now."""
    trading: int
    finished: int
    frames: int
    msgs_per_s: float
    snapshots: int
    deltas: int
    trades: int
    gaps: int
    resyncs: int
    quarantined: int
    unsubscribable: int
    with_problems: int
    reconnects: int
    queue_depth: int


@dataclass(frozen=True, slots=True)
class CollectorView:
    """A consistent picture of the collector at ``elapsed_s`` into session ``session_id``."""

    session_id: str
    elapsed_s: float
    totals: Totals
    most_active: tuple[MarketRow, ...]
    """The ``top`` markets with the most messages per second (then the most frames)."""
    problems: tuple[MarketRow, ...]
    """Every market with a problem, the most serious first."""
    series: tuple[SeriesRow, ...]
    sinks: tuple[SinkRow, ...]
    discovery: str
    """What market discovery is doing (empty without ``--series``/``--event``)."""
    markets: tuple[MarketRow, ...]
    """Every market being recorded, by ticker."""

    @property
    def finished_count(self) -> int:
        return self.totals.finished

    @property
    def waiting(self) -> tuple[SeriesRow, ...]:
        """The series that have no market open or about to open."""
        return tuple(row for row in self.series if row.waiting)


@dataclass(frozen=True, slots=True)
class CollectorParts:
    """What a ``ViewBuilder`` reads from a collector (kept apart so tests can build one)."""

    session_id: str
    started_ns: int
    books: Mapping[str, SharedOrderbookState]
    stats: Mapping[str, MarketStats]
    series_of: Mapping[str, str]
    """Market -> its series (markets without a known series are left out of series rows)."""
    finished: Mapping[str, FinishedMarket]
    wanted_series: tuple[str, ...]
    frames: int
    quarantined_unattributed: int
    reconnects: int
    queue_depth: int
    sinks: tuple[SinkRow, ...]
    discovery: str = ""


class ViewBuilder:
    """Builds ``CollectorView``s, measuring rates between successive builds."""

    def __init__(self) -> None:
        self._frames: dict[str, int] = {}
        self._total = 0
        self._at = 0.0

    def build(self, parts: CollectorParts, top: int = 10) -> CollectorView:
        now = time.monotonic()
        elapsed = now - self._at if self._at else 0.0
        rows = [self._row(parts, ticker, shared, elapsed) for ticker, shared in parts.books.items()]
        self._frames = {row.ticker: row.frames for row in rows}
        total_rate = (parts.frames - self._total) / elapsed if elapsed > 0 else 0.0
        self._total, self._at = parts.frames, now
        rows.sort(key=lambda r: r.ticker)
        active = sorted(rows, key=lambda r: (-r.msgs_per_s, -r.frames, r.ticker))[: max(0, top)]
        problems = sorted((r for r in rows if r.problems), key=_severity)
        finished = parts.finished.values()
        totals = Totals(
            markets=len(rows),
            trading=sum(r.phase == "active" for r in rows),
            finished=len(parts.finished),
            frames=parts.frames,
            msgs_per_s=max(0.0, total_rate),
            snapshots=_sum(parts.stats.values(), finished, "snapshots"),
            deltas=_sum(parts.stats.values(), finished, "deltas"),
            trades=_sum(parts.stats.values(), finished, "trades"),
            gaps=_sum(parts.stats.values(), finished, "gaps"),
            resyncs=_sum(parts.stats.values(), finished, "resyncs"),
            quarantined=_sum(parts.stats.values(), finished, "quarantined") + parts.quarantined_unattributed,
            unsubscribable=sum(bool(r.unsubscribable) for r in rows),
            with_problems=len(problems),
            reconnects=parts.reconnects,
            queue_depth=parts.queue_depth,
        )
        return CollectorView(
            session_id=parts.session_id,
            elapsed_s=(time.time_ns() - parts.started_ns) / 1e9,
            totals=totals,
            most_active=tuple(active),
            problems=tuple(problems),
            series=tuple(_series_rows(parts, rows)),
            sinks=parts.sinks,
            discovery=parts.discovery,
            markets=tuple(rows),
        )

    def _row(
        self, parts: CollectorParts, ticker: str, shared: SharedOrderbookState, elapsed: float
    ) -> MarketRow:
        stats = parts.stats.get(ticker) or MarketStats()
        book = shared.state
        phase = shared.status.phase
        before = self._frames.get(ticker, stats.frames)
        rate = (stats.frames - before) / elapsed if elapsed > 0 else 0.0
        return MarketRow(
            ticker=ticker,
            series=parts.series_of.get(ticker),
            phase=phase,
            state=_state(shared, stats),
            yes_bid=book.best_yes_bid,
            yes_ask=book.best_yes_ask,
            spread=book.spread_yes,
            msgs_per_s=max(0.0, rate),
            frames=stats.frames,
            deltas=stats.deltas,
            trades=stats.trades,
            last_seq=stats.last_seq,
            gaps=stats.gaps,
            resyncs=stats.resyncs,
            quarantined=stats.quarantined,
            unsubscribable=stats.unsubscribable,
            problems=_problems(shared, stats),
        )


def _state(shared: SharedOrderbookState, stats: MarketStats) -> str:
    if stats.unsubscribable:
        return "unsubscribable"
    phase = shared.status.phase
    if phase not in ("active", "unknown"):
        return phase
    if not stats.snapshots:
        return "no book"
    return "stale" if shared.state.stale else "live"


def _problems(shared: SharedOrderbookState, stats: MarketStats) -> tuple[str, ...]:
    found = []
    if stats.unsubscribable:
        found.append(f"unsubscribable: {stats.unsubscribable}")
    if shared.state.stale and stats.snapshots and not stats.unsubscribable:  # had a book, lost it
        found.append("stale book (resyncing)")
    if shared.status.phase == "active" and not stats.snapshots and not stats.unsubscribable:
        found.append("trading but no book yet")
    if stats.gaps:
        found.append(f"{stats.gaps} gap{'s' * (stats.gaps != 1)}")
    if stats.quarantined:
        found.append(f"{stats.quarantined} quarantined")
    return tuple(found)


def _severity(row: MarketRow) -> tuple[int, str]:
    first = row.problems[0]
    rank = 0 if first.startswith("unsubscribable") else 1 if first.startswith(("stale", "trading")) else 2
    return rank, row.ticker


def _sum(current: Iterable[MarketStats], finished: Iterable[FinishedMarket], name: str) -> int:
    return sum(getattr(s, name) for s in current) + sum(getattr(f, name) for f in finished)


def _series_rows(parts: CollectorParts, rows: list[MarketRow]) -> list[SeriesRow]:
    result = []
    for series in parts.wanted_series:
        mine = [r for r in rows if r.series == series]
        finished = sum(f.series == series for f in parts.finished.values())
        waiting = not any(r.phase in ACTIVE_PHASES for r in mine)
        trading = sum(r.phase == "active" for r in mine)
        if waiting:
            note = "no open market: waiting for the next one"
        elif not trading:
            note = "waiting for a market to open"
        else:
            note = f"{trading} trading"
        result.append(SeriesRow(series, len(mine), trading, finished, waiting, note))
    return result
