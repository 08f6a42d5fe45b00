"""``SharedOrderbookState``: the one book per market that every consumer reads.

The feed is the only writer. Updates are applied synchronously on the event loop, so a reader
sees a consistent book between two awaits and no lock is needed (the spec's ``asyncio.Lock``
exists only to serialise multi-step writers, and there is just one). Subscribers are woken,
never queued: a slow subscriber that wakes up reads the latest book, so it cannot build a
backlog and cannot slow the writer down.
"""

from __future__ import annotations

import asyncio
import contextlib

from kalshi_rl.core.events import EventFeeUpdate, LifecycleEvent, MarketInfo
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.data.book.market_status import MarketStatus, is_valid_price
from kalshi_rl.data.book.orderbook_state import OrderbookState

__all__ = ["BookSubscription", "MarketStatus", "SharedOrderbookState"]


class BookSubscription:
    """A subscriber's handle: wait for a change, then read the latest book."""

    __slots__ = ("_event", "_seen_version", "_shared")

    def __init__(self, shared: SharedOrderbookState) -> None:
        self._shared = shared
        self._event = asyncio.Event()
        self._seen_version = -1

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the book changed since the last ``latest()``; False on timeout."""
        if self._shared.version != self._seen_version:
            return True
        self._event.clear()
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives
        # as the event fires, and the cancelled subscriber then never ends.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        return self._shared.version != self._seen_version

    def latest(self) -> OrderbookState:
        """Return a copy of the current book and mark it seen."""
        self._seen_version = self._shared.version
        return self._shared.state.copy()

    def mark_seen(self) -> None:
        """Acknowledge the current version without copying the book."""
        self._seen_version = self._shared.version

    def notify(self) -> None:
        self._event.set()

    def close(self) -> None:
        self._shared.unsubscribe(self)


class SharedOrderbookState:
    """ONE per market: the book (``state``), its lifecycle status, and its subscribers."""

    def __init__(self, market_ticker: str, info: MarketInfo | None = None) -> None:
        self.market_ticker = market_ticker
        self.state = OrderbookState(market_ticker)
        self.status = MarketStatus() if info is None else MarketStatus().with_info(info)
        self.segment = 0  # the lake's segment id of the current gap-free stretch (0: none yet)
        self.segment_start_ns = 0  # receive time of the snapshot that started it
        self.version = 0
        self._subscribers: list[BookSubscription] = []

    def touch(self) -> None:
        """Record that the writer changed the book; wake every subscriber (never blocks)."""
        self.version += 1
        for subscriber in self._subscribers:
            subscriber.notify()

    def subscribe(self) -> BookSubscription:
        subscription = BookSubscription(self)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: BookSubscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def get_snapshot(self) -> OrderbookState:
        """Return an independent copy of the current book (the spec's actor API)."""
        return self.state.copy()

    def set_info(self, info: MarketInfo) -> None:
        """Fold REST metadata into the status (phase forward only, close time, price grid)."""
        self.status = self.status.with_info(info)
        self.touch()

    def apply_lifecycle(self, event: LifecycleEvent) -> None:
        """Fold a lifecycle event into the status: phase (pause, close, determination,
        settlement), close time, price grid."""
        self.status = self.status.with_lifecycle(event)
        self.touch()

    def set_fees(self, series: FeeSchedule | None, event_override: FeeSchedule | None) -> None:
        """Set the fee schedules fetched over REST (the series', and the event's override)."""
        self.status = self.status.with_fees(series, event_override)
        self.touch()

    def apply_event_fee(self, update: EventFeeUpdate) -> bool:
        """Apply an ``event_fee_update`` if it concerns this market's event; return whether it did."""
        if update.event_ticker != self.status.event_ticker:
            return False
        self.status = self.status.with_event_fee(update)
        self.touch()
        return True

    def is_valid_price(self, price_ticks: int) -> bool:
        """Whether ``price_ticks`` is on the market's latest price grid (any tick if unknown)."""
        return is_valid_price(self.status.price_ranges, price_ticks)
