"""``MarketRoster``: the markets a feed records now, and what is kept of the ones it finished.

Each market being recorded has one ``SharedOrderbookState`` (its book and lifecycle status),
its ``MarketStats`` and the lake segment id of its current gap-free stretch. Markets join
while the feed runs (a series rolling over) and leave once recorded to their settlement:
``release`` drops all of that and keeps a ``FinishedMarket``, so a collector that follows a
series for weeks holds the state of its live markets only.

``MarketWatcher`` is what the feed tells about markets it does not record (yet): the
collector's ``Discovery`` implements it.
"""

from __future__ import annotations

from typing import Protocol

from kalshi_rl.core.events import EventLifecycle, LifecycleEvent
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.market_stats import FinishedMarket, MarketStats


class MarketWatcher(Protocol):
    """Told by the feed about markets it does not record and about the ones that settle."""

    def market_seen(self, event: LifecycleEvent) -> bool:
        """A lifecycle frame of a market not recorded: return True if it is recorded now."""
        ...

    def event_created(self, event: EventLifecycle) -> None:
        """An ``event_lifecycle`` frame: a new event (and its series)."""
        ...

    def market_settled(self, ticker: str) -> None:
        """A recorded market reached the ``settled`` phase (lifecycle frame or REST)."""
        ...

    def lifecycle_lost(self, reconnect: bool) -> None:
        """Lifecycle frames may have been lost: a gap on their sid, or (``reconnect``) a
        disconnect, after which they are lost until the next connection subscribes again."""
        ...


class MarketRoster:
    """Books, stats and segment ids of the markets recorded now; records of finished ones."""

    def __init__(self, books: dict[str, SharedOrderbookState]) -> None:
        self.books = books
        self.stats = {market: MarketStats() for market in books}
        self.segment: dict[str, int] = dict.fromkeys(books, 0)
        self.series: dict[str, str] = {}
        """Market -> its series ticker, where known."""
        self.resyncing: set[str] = set()
        """Markets whose book broke and waits for a fresh snapshot."""
        self.finished: dict[str, FinishedMarket] = {}

    def add(self, ticker: str, series: str | None = None) -> SharedOrderbookState:
        """Start recording ``ticker`` (idempotent); return its shared book."""
        shared = self.books.get(ticker)
        if shared is None:
            shared = self.books[ticker] = SharedOrderbookState(ticker)
            self.stats[ticker] = MarketStats()
            self.segment[ticker] = 0
        if series:
            self.series[ticker] = series
        return shared

    def release(self, ticker: str, now_ns: int) -> FinishedMarket | None:
        """Stop recording ``ticker``: drop its book, stats and segment; keep its record."""
        shared = self.books.pop(ticker, None)
        if shared is None:
            return None
        stats = self.stats.pop(ticker, None) or MarketStats()
        self.segment.pop(ticker, None)
        self.resyncing.discard(ticker)
        status = shared.status
        record = FinishedMarket.of(
            ticker, stats, self.series.pop(ticker, None), status.event_ticker, status.result, now_ns
        )
        self.finished[ticker] = record
        return record
