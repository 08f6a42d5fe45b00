"""``OrderbookClient``: applies the feed to the shared books and queues every row for storage.

It is the WebSocket client's handler. Each frame is accounted for exactly once, in the
``frames`` table with its disposition, so counts reconcile (DESIGN §3.5):
``applied`` (written), ``sampled`` (deliberately not stored), ``stale`` (its book was waiting
for a snapshot after a break), ``quarantined`` (malformed or impossible), ``control`` (acks),
``retired_sid`` and ``other_market`` (not ours). A book that a delta would make inconsistent
is marked stale and a fresh snapshot is requested; its segment ends there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import BookDelta, BookSnapshot, LifecycleEvent, MarketInfo, TickerUpdate, Trade
from kalshi_rl.data.shared_state import SharedOrderbookState
from kalshi_rl.data.write_queue import OrderbookWriteQueue
from kalshi_rl.kalshi.messages import Event
from kalshi_rl.kalshi.ws_client import ORDERBOOK, FeedBreak

logger = logging.getLogger(__name__)


@dataclass
class MarketStats:
    frames: int = 0
    snapshots: int = 0
    deltas: int = 0
    trades: int = 0
    sampled_out: int = 0
    stale_skipped: int = 0
    quarantined: int = 0
    gaps: int = 0
    resyncs: int = 0
    breaks: int = 0
    last_seq: int = 0


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
        self.books = books
        self.queue = write_queue
        self.session_id = session_id
        self.request_snapshot = request_snapshot or (lambda market: None)
        self.stats = {market: MarketStats() for market in books}
        self.conn_id = 0
        self.frames = 0
        self.quarantined_unattributed = 0
        self._segment_base = session_start_ms * 1_000_000
        self._segments = 0
        self._segment: dict[str, int] = dict.fromkeys(books, 0)
        self._resyncing: set[str] = set()

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
        market = event.market_ticker
        shared = self.books.get(market)
        if shared is None:
            if isinstance(event, LifecycleEvent):  # the lifecycle channel carries every market
                self._frame(raw, event.ts_recv_ns, "other_market", market)
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
        yes, no = snap.yes_bids, snap.no_bids
        self.queue.enqueue(
            "snapshots",
            (
                market,
                snap.ts_exchange_ms,
                snap.ts_recv_ns,
                self.session_id,
                self.conn_id,
                snap.sid,
                snap.seq,
                self._segment[market],
                [p for p, _ in yes],
                [s for _, s in yes],
                [p for p, _ in no],
                [s for _, s in no],
                self.queue.config.sample_rate,
            ),
        )

    def on_break(self, feed_break: FeedBreak) -> None:
        for market in feed_break.markets:
            if market not in self.books:
                continue
            stats = self.stats[market]
            if feed_break.reason == "gap":
                stats.gaps += 1
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
        self.queue.enqueue(
            "book_events",
            (
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
            ),
        )

    # -- trades, lifecycle, metadata ----------------------------------------------------------

    def _on_trade(self, stats: MarketStats, trade: Trade, raw: str) -> None:
        stats.trades += 1
        self._frame(raw, trade.ts_recv_ns, "applied", trade.market_ticker)
        self.queue.enqueue(
            "trades",
            (
                trade.market_ticker,
                trade.ts_exchange_ms,
                trade.ts_recv_ns,
                self.session_id,
                self.conn_id,
                trade.sid,
                trade.seq,
                trade.trade_id,
                trade.yes_price_ticks,
                trade.count_units,
                trade.taker_side.value,
            ),
        )

    def _on_lifecycle(self, shared: SharedOrderbookState, event: LifecycleEvent, raw: str) -> None:
        shared.apply_lifecycle(event)
        self._frame(raw, event.ts_recv_ns, "applied", event.market_ticker)
        self.queue.enqueue(
            "lifecycle",
            (
                event.market_ticker,
                event.ts_exchange_ms,
                event.ts_recv_ns,
                self.session_id,
                event.event_type,
                event.result,
                event.settlement_ticks,
                event.open_ts_ms,
                event.close_ts_ms,
                json.dumps(event.fields, default=str),
            ),
        )
        logger.info("%s: lifecycle %s %s", event.market_ticker, event.event_type, event.result or "")

    def record_market_info(self, info: MarketInfo) -> None:
        """Store REST metadata with the data (the env needs close time and settlement)."""
        if info.ticker in self.books:
            self.books[info.ticker].set_info(info)
        self.queue.enqueue(
            "markets",
            (
                info.ticker,
                info.fetched_ns or time.time_ns(),
                self.session_id,
                info.status,
                info.open_time_ms,
                info.close_time_ms,
                info.expiration_time_ms,
                info.result,
                info.settlement_ticks,
                info.price_level_structure,
                json.dumps([list(r) for r in info.price_ranges]),
                json.dumps(info.raw, default=str),
            ),
        )
