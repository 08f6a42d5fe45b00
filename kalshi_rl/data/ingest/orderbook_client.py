"""``OrderbookClient``: applies the feed to the shared books and queues every row for storage.

It is the WebSocket client's handler. Each frame is accounted for exactly once, in the
``frames`` table with its disposition, so counts reconcile (docs/architecture.md, "No silent loss"):
``applied`` (written), ``sampled`` (deliberately not stored), ``stale`` (its book was waiting
for a snapshot after a break), ``quarantined`` (malformed or impossible), ``control`` (acks),
``retired_sid`` and ``other_market`` (not ours). A book that a delta would make inconsistent
(a level below zero, or a crossed book) is marked stale and a fresh snapshot is requested; its
segment ends there.

Lifecycle frames change the market's status (phase, close time, price grid) and go to the
``lifecycle`` table; event-level frames (``event_lifecycle``, ``event_fee_update``) go to the
``events`` table, and a fee update changes the fee schedule of the event's markets.

The markets recorded may change while it runs (``MarketRoster``): a ``MarketWatcher`` (the
collector's discovery) is shown the lifecycle frames of markets not recorded and may start
recording them on the spot, is told when a market settles, and releases it later. Frames of
a released market still in flight are ``released_market``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import (
    BookDelta,
    BookSnapshot,
    EventFeeUpdate,
    EventLifecycle,
    LifecycleEvent,
    MarketInfo,
    TickerUpdate,
    Trade,
)
from kalshi_rl.core.fee_schedule import FeeSchedule, effective_schedule
from kalshi_rl.core.units import PRICE_SCALE, format_price
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.market_roster import MarketRoster, MarketWatcher
from kalshi_rl.data.ingest.market_stats import FinishedMarket, MarketStats
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue
from kalshi_rl.data.lake.rows import event_row, lifecycle_row, market_row, snapshot_row, trade_row
from kalshi_rl.kalshi.messages import Event
from kalshi_rl.kalshi.ws_client import LIFECYCLE, ORDERBOOK, FeedBreak

__all__ = ["MarketStats", "OrderbookClient"]

logger = logging.getLogger(__name__)


class OrderbookClient:
    """Feed handler that maintains one ``SharedOrderbookState`` per market."""

    def __init__(
        self,
        books: dict[str, SharedOrderbookState],
        write_queue: OrderbookWriteQueue,
        session_id: str,
        session_start_ms: int,
        request_snapshot: Callable[[str], None] | None = None,
    ) -> None:
        self.roster = MarketRoster(books)
        self.books = books
        self.queue = write_queue
        self.session_id = session_id
        self.request_snapshot = request_snapshot or (lambda market: None)
        self.stats = self.roster.stats
        self.watcher: MarketWatcher | None = None
        self.conn_id = 0
        self.frames = 0
        self.quarantined_unattributed = 0
        self.event_frames = 0
        self._series_ticker = self.roster.series
        self._segment_base = session_start_ms * 1_000_000
        self._segments = 0
        self._segment = self.roster.segment
        self._resyncing = self.roster.resyncing

    @property
    def series_tickers(self) -> dict[str, str]:
        """Market -> its series ticker, where known (REST metadata or discovery)."""
        return self._series_ticker

    @property
    def finished(self) -> dict[str, FinishedMarket]:
        """The markets recorded to their end and released, with their final counts."""
        return self.roster.finished

    def add_market(self, ticker: str, series: str | None = None) -> SharedOrderbookState:
        """Start recording ``ticker`` (its book waits for the snapshot its subscription brings)."""
        return self.roster.add(ticker, series)

    def release_market(self, ticker: str) -> FinishedMarket | None:
        """Stop recording ``ticker`` and free its book, stats and segment; return its record."""
        self.queue.forget_market(ticker)
        return self.roster.release(ticker, time.time_ns())

    # -- frames -------------------------------------------------------------------------------

    def _frame(self, raw: str, recv_ns: int, disposition: str, market: str | None) -> None:
        self.frames += 1
        self.queue.enqueue("frames", (recv_ns, self.session_id, self.conn_id, disposition, market, raw))

    def on_connected(self, conn_id: int) -> None:
        self.conn_id = conn_id

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        self._frame(raw, recv_ns, kind, None)

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        stats = self.stats.get(market) if market else None
        if stats is not None:
            stats.frames += 1
        self._quarantine(raw, recv_ns, reason, market)

    def _quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self._frame(raw, recv_ns, "quarantined", market)
        self.queue.enqueue("quarantine", (recv_ns, self.session_id, self.conn_id, market, reason, raw))
        stats = self.stats.get(market) if market else None
        if stats is not None:
            stats.quarantined += 1
        else:
            self.quarantined_unattributed += 1
        logger.debug("quarantined frame (%s)", reason)

    def on_event(self, event: Event, raw: str) -> None:
        if type(event) is EventLifecycle or type(event) is EventFeeUpdate:
            self._on_event_frame(event, raw)
            return
        market = event.market_ticker  # type: ignore[union-attr]
        shared = self.books.get(market)
        if shared is None:
            watcher = self.watcher
            if type(event) is LifecycleEvent and watcher is not None and watcher.market_seen(event):
                shared = self.books[market]  # recorded from this frame on
            elif market in self.roster.finished:  # deleted from its subscription, still in flight
                self._frame(raw, event.ts_recv_ns, "released_market", market)
                return
            elif isinstance(event, LifecycleEvent):  # the lifecycle channel carries every market
                self._frame(raw, event.ts_recv_ns, "other_market", market)
                return
            else:
                self._quarantine(raw, event.ts_recv_ns, f"wrong market {market!r}: not subscribed", None)
                return
        stats = self.stats[market]
        stats.frames += 1
        if type(event) is BookDelta:
            self._on_delta(shared, stats, event, raw)
        elif type(event) is BookSnapshot:
            self._on_snapshot(shared, stats, event, raw)
        elif type(event) is Trade:
            self._on_trade(stats, event, raw)
        elif type(event) is LifecycleEvent:
            self._on_lifecycle(shared, event, raw)
        elif type(event) is TickerUpdate:
            self._frame(raw, event.ts_recv_ns, "applied", market)

    # -- book ---------------------------------------------------------------------------------

    def _on_delta(self, shared: SharedOrderbookState, stats: MarketStats, delta: BookDelta, raw: str) -> None:
        book = shared.state
        market = delta.market_ticker
        if book.stale:
            stats.stale_skipped += 1
            self._frame(raw, delta.ts_recv_ns, "stale", market)
            return
        try:
            size_after = book.apply_delta(delta.side, delta.price_ticks, delta.delta_units)
        except BookError as exc:
            self._quarantine(raw, delta.ts_recv_ns, f"inconsistent delta: {exc}", market)
            self._break_book(market, "inconsistent", delta.ts_recv_ns, delta.sid, detail=str(exc))
            self.request_snapshot(market)
            return
        yes, no = book.best_yes_bid, book.best_no_bid
        if delta.delta_units > 0 and yes and no and yes + no >= PRICE_SCALE:  # only an added bid can cross
            self._crossed(book, delta, raw)
            return
        book.last_sequence = delta.seq
        book.last_update_ns = delta.ts_recv_ns
        book.last_exchange_ms = delta.ts_exchange_ms
        stats.deltas += 1
        stats.last_seq = delta.seq
        shared.touch()
        if not self.queue.keep_delta(market):
            stats.sampled_out += 1
            self._frame(raw, delta.ts_recv_ns, "sampled", market)
            return
        self._frame(raw, delta.ts_recv_ns, "applied", market)
        self.queue.enqueue(
            "deltas",
            (
                market,
                delta.ts_exchange_ms,
                delta.ts_recv_ns,
                self.session_id,
                self.conn_id,
                delta.sid,
                delta.seq,
                self._segment[market],
                delta.side.value,
                delta.price_ticks,
                delta.delta_units,
                size_after,
            ),
        )

    def _crossed(self, book: OrderbookState, delta: BookDelta, raw: str) -> None:
        """A delta that crossed the book: undone, quarantined, and the book resynced."""
        yes, no = book.best_yes_bid or 0, book.best_no_bid or 0
        book.apply_delta(delta.side, delta.price_ticks, -delta.delta_units)  # exact undo
        market = delta.market_ticker
        detail = f"delta crosses the book: YES bid {format_price(yes)} + NO bid {format_price(no)} >= 1"
        self._quarantine(raw, delta.ts_recv_ns, detail, market)
        self._break_book(market, "crossed", delta.ts_recv_ns, delta.sid, detail=detail)
        self.request_snapshot(market)

    def _on_snapshot(
        self, shared: SharedOrderbookState, stats: MarketStats, snap: BookSnapshot, raw: str
    ) -> None:
        market = snap.market_ticker
        if market in self._resyncing:
            self._resyncing.discard(market)
            stats.resyncs += 1
            self._book_event(market, "resync", snap.ts_recv_ns, snap.sid, None, snap.seq, "fresh snapshot")
        self._segments += 1
        self._segment[market] = shared.segment = self._segment_base + self._segments
        shared.segment_start_ns = snap.ts_recv_ns
        shared.state.apply_snapshot(snap)
        shared.touch()
        stats.snapshots += 1
        stats.last_seq = snap.seq
        self._frame(raw, snap.ts_recv_ns, "applied", market)
        row = snapshot_row(
            snap, self.session_id, self.conn_id, self._segment[market], self.queue.config.sample_rate
        )
        self.queue.enqueue("snapshots", row)

    def on_break(self, feed_break: FeedBreak) -> None:
        if self.watcher is not None and (
            feed_break.channel == LIFECYCLE or feed_break.reason == "disconnect"
        ):
            self.watcher.lifecycle_lost(reconnect=feed_break.reason == "disconnect")
        for market in feed_break.markets:
            if market not in self.books:
                continue
            stats = self.stats[market]
            if feed_break.reason == "gap":
                stats.gaps += 1
            if feed_break.reason == "unsubscribable":
                if feed_break.channel == ORDERBOOK or not stats.unsubscribable:
                    stats.unsubscribable = feed_break.detail
                self._book_event(
                    market, "unsubscribable", feed_break.recv_ns, None, None, None, feed_break.detail
                )
                continue
            if feed_break.channel != ORDERBOOK:
                self._book_event(
                    market,
                    f"{feed_break.channel}_{feed_break.reason}",
                    feed_break.recv_ns,
                    feed_break.sid,
                    feed_break.expected_seq,
                    feed_break.got_seq,
                    feed_break.detail,
                )
                continue
            self._break_book(
                market,
                feed_break.reason,
                feed_break.recv_ns,
                feed_break.sid,
                feed_break.expected_seq,
                feed_break.got_seq,
                feed_break.detail,
            )

    def _break_book(
        self,
        market: str,
        kind: str,
        recv_ns: int,
        sid: int | None,
        expected: int | None = None,
        got: int | None = None,
        detail: str = "",
    ) -> None:
        shared = self.books[market]
        self.stats[market].breaks += 1
        self._book_event(market, kind, recv_ns, sid, expected, got, detail)
        if not shared.state.stale:
            shared.state.stale = True
            shared.touch()
        self._resyncing.add(market)

    def _book_event(
        self,
        market: str,
        kind: str,
        recv_ns: int,
        sid: int | None,
        expected: int | None,
        got: int | None,
        detail: str,
    ) -> None:
        row = (
            market,
            recv_ns,
            self.session_id,
            self.conn_id,
            kind,
            sid,
            expected,
            got,
            self._segment[market],
            detail,
        )
        self.queue.enqueue("book_events", row)

    # -- trades, lifecycle, metadata ----------------------------------------------------------

    def _on_trade(self, stats: MarketStats, trade: Trade, raw: str) -> None:
        stats.trades += 1
        self._frame(raw, trade.ts_recv_ns, "applied", trade.market_ticker)
        self.queue.enqueue("trades", trade_row(trade, self.session_id, self.conn_id))

    def _on_lifecycle(self, shared: SharedOrderbookState, event: LifecycleEvent, raw: str) -> None:
        before = shared.status.phase
        shared.apply_lifecycle(event)
        stats = self.stats[event.market_ticker]
        stats.lifecycle += 1
        stats.phase = shared.status.phase
        self._frame(raw, event.ts_recv_ns, "applied", event.market_ticker)
        self.queue.enqueue("lifecycle", lifecycle_row(event, self.session_id, self.conn_id))
        logger.info(
            "%s: lifecycle %s%s -> %s",
            event.market_ticker,
            event.event_type,
            f" {event.result}" if event.result else "",
            shared.status.phase,
        )
        self._check_settled(event.market_ticker, before, shared.status.phase)

    def _check_settled(self, ticker: str, before: str, after: str) -> None:
        if after == "settled" and before != "settled" and self.watcher is not None:
            self.watcher.market_settled(ticker)

    def _on_event_frame(self, event: EventLifecycle | EventFeeUpdate, raw: str) -> None:
        """An event-level frame: stored; a fee update changes its markets' fee schedule."""
        self.event_frames += 1
        if isinstance(event, EventLifecycle) and self.watcher is not None:
            self.watcher.event_created(event)
        self._frame(raw, event.ts_recv_ns, "applied", None)
        self.queue.enqueue("events", event_row(event, self.session_id, self.conn_id))
        if isinstance(event, EventFeeUpdate):
            changed = [t for t, shared in self.books.items() if shared.apply_event_fee(event)]
            if changed:
                fee = event.fee_override
                logger.info(
                    "%s: event %s fee override %s",
                    ", ".join(changed),
                    event.event_ticker,
                    f"{fee.fee_type.value} x {fee.multiplier}" if fee else "cleared",
                )

    def record_market_info(
        self,
        info: MarketInfo,
        series_ticker: str | None = None,
        series_fee: FeeSchedule | None = None,
        event_fee: FeeSchedule | None = None,
    ) -> None:
        """Store REST metadata with the data (close time, settlement, price grid, fees)."""
        if series_ticker:
            self._series_ticker[info.ticker] = series_ticker
        series_ticker = self._series_ticker.get(info.ticker)
        shared = self.books.get(info.ticker)
        if shared is not None:
            before = shared.status.phase
            shared.set_info(info)
            if series_fee is not None or event_fee is not None:
                shared.set_fees(series_fee, event_fee)
            self.stats[info.ticker].phase = shared.status.phase
            self._check_settled(info.ticker, before, shared.status.phase)
            fees = shared.status.fees
            series_fee = shared.status.series_fee
        else:
            fees = effective_schedule(series_fee, event_fee)
        recv_ns = info.fetched_ns or time.time_ns()
        self.queue.enqueue(
            "markets", market_row(info, recv_ns, self.session_id, series_ticker, fees, series_fee)
        )
