"""``Discovery``: the markets of the series and events a collector follows, found and kept current.

**Finding them.** Kalshi's REST markets listing, filtered by series (``GET /markets?
series_ticker=S&status=…``, one request per status that is not settled, every page of its
cursor) or by event (``event_ticker=E``), within the rate limit (``kalshi.rate_limit``): at the
start, every ``recheck_s``, and at once after lifecycle frames may have been lost (a gap on
their sid, a reconnect). Between checks the public ``market_lifecycle_v2`` channel, which
carries every market, tells of markets as Kalshi creates them: a ``created`` frame names its
event (``additional_metadata.event_ticker``), whose series comes from its ``event_lifecycle``
frame, or else from Kalshi's ticker convention (``SERIES-…``); REST metadata follows.

**Rolling over.** A new market is recorded from that frame on: its book is created and it is
added to the running subscription (``update_subscription`` ``add_markets``), before it opens
since Kalshi creates markets ahead of their open. Once it has settled (lifecycle ``settled``,
or REST ``finalized`` at a check: a missed frame cannot keep a market forever) and
``settle_grace_s`` has passed for its last frames, its final REST metadata is recorded, it is
removed from the subscription (``delete_markets``) and released: its book, sequence state and
stats are dropped, a ``FinishedMarket`` stays.

**Failures.** A series or event the exchange does not know is refused before connecting
(``validate``, a ``ConfigError``). A failing REST check is retried with exponential backoff
while the markets already known keep streaming; ``status()`` says what discovery is doing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import ConfigError, DataNotFoundError, ExchangeError
from kalshi_rl.core.events import EventLifecycle, LifecycleEvent, MarketInfo
from kalshi_rl.data.book.market_status import phase_from_rest
from kalshi_rl.data.ingest.market_metadata import MarketMetadata
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.kalshi.backoff import Backoff
from kalshi_rl.kalshi.rest import KalshiRestClient
from kalshi_rl.kalshi.ws_client import KalshiWsClient

logger = logging.getLogger(__name__)

T = TypeVar("T")
EVENT_SERIES_CACHE = 4096
"""Events whose series an ``event_lifecycle`` frame told (the latest ones)."""
TOO_LATE = frozenset({"determined", "settled"})
"""Lifecycle events after which an unknown market is not worth recording."""


@dataclass(frozen=True)
class DiscoveryConfig:
    """How often discovery checks REST, how it retries, when it releases a settled market."""

    recheck_s: float = 60.0
    min_recheck_s: float = 1.0
    """Checks asked for by lost lifecycle frames come at most this often."""
    settle_grace_s: float = 5.0
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0
    startup_attempts: int = 4
    """Attempts to check each series and event at the start when the exchange fails."""
    statuses: tuple[str, ...] = ("unopened", "open", "paused", "closed")


class Discovery:
    """Finds, adds and releases markets of ``series`` and ``events``; see the module docstring."""

    def __init__(
        self,
        series: tuple[str, ...],
        events: tuple[str, ...],
        config: DiscoveryConfig,
        rest: KalshiRestClient,
        metadata: MarketMetadata,
        feed: OrderbookClient,
        ws: KalshiWsClient,
    ) -> None:
        self.series = series
        self.events = events
        self.config = config
        self.rest = rest
        self.metadata = metadata
        self.feed = feed
        self.ws = ws
        self.found: dict[str, str | None] = {}
        """Markets discovery added and will release (market -> series), live ones only."""
        self.releasing: set[str] = set()
        self.checks = 0
        self.failures = 0
        self.last_error = ""
        self._last_check = 0.0
        self._event_series: OrderedDict[str, str] = OrderedDict()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._backoff = Backoff(config.retry_initial_s, config.retry_max_s, random.Random())
        self._retry_at = 0.0
        self._waiting: set[str] = set()
        self._wait_live = False

    # -- start ----------------------------------------------------------------------------

    async def validate(self) -> None:
        """Check that every series and event exists (``ConfigError`` naming the first that does not)."""
        for series in self.series:
            await self._at_start(functools.partial(self.rest.get_series, series), f"series {series!r}")
        for event in self.events:
            info = await self._at_start(functools.partial(self.rest.get_event, event), f"event {event!r}")
            self._event_series[event] = info.series_ticker

    async def _at_start(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        for attempt in range(1, self.config.startup_attempts + 1):
            try:
                return await call()
            except DataNotFoundError:
                raise ConfigError(f"unknown {what}: {self.rest.base_url} has no such ticker") from None
            except ExchangeError as exc:
                if attempt == self.config.startup_attempts:
                    raise ExchangeError(f"cannot check {what}: {exc}") from None
                delay = self._backoff.next_delay()
                logger.warning("checking %s failed (%s); retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def initial(self) -> None:
        """The first REST check; a failure is left to ``run`` to retry (recording goes on)."""
        await self._check_once()

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Check REST every ``recheck_s`` (sooner when frames were lost) until cancelled."""
        self._wait_live = True  # the first connection: check again once its lifecycle is live
        self._wake.set()
        try:
            while True:
                await wait_event(self._wake, self._next_delay())
                self._wake.clear()
                if self._wait_live:
                    # Markets created before the connection's lifecycle subscription is
                    # answered can only be found over REST. ``working`` is cleared before a
                    # lost connection reports its loss, so only a later connection sets it.
                    await self.ws.working.wait()
                    self._wait_live = False
                since = time.monotonic() - self._last_check
                if since < self.config.min_recheck_s:
                    await asyncio.sleep(self.config.min_recheck_s - since)
                await self._check_once()
        finally:
            await self.close()

    def _next_delay(self) -> float:
        if self.failures:
            return max(0.0, self._retry_at - time.monotonic())
        return self.config.recheck_s

    async def close(self) -> None:
        """Cancel the metadata fetches and releases still under way."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _check_once(self) -> None:
        self._last_check = time.monotonic()
        try:
            await self.check()
        except (ExchangeError, DataNotFoundError) as exc:
            self.failures += 1
            self.last_error = str(exc)
            delay = self._backoff.next_delay()
            self._retry_at = time.monotonic() + delay
            logger.warning("market discovery failed (%s); retrying in %.1f s", exc, delay)
            return
        self.failures = 0
        self.last_error = ""
        self._backoff.reset()

    async def check(self) -> list[str]:
        """One REST check: add every listed market not recorded yet, and find the markets that
        settled unseen. Return the markets added."""
        listed: dict[str, tuple[MarketInfo, str | None]] = {}
        for series in self.series:
            for status in self.config.statuses:
                for info in await self.rest.list_markets(series_ticker=series, status=status):
                    listed[info.ticker] = (info, series)
        for event in self.events:
            for info in await self.rest.list_markets(event_ticker=event):
                if phase_from_rest("unknown", info.status) != "settled":
                    listed[info.ticker] = (info, self._event_series.get(event))
        added = [ticker for ticker, (info, series) in listed.items() if self.adopt(ticker, series, info)]
        for ticker in [t for t in self.found if t not in listed and t not in self.releasing]:
            try:
                await self.metadata.fetch_and_record(ticker)  # settled unseen: the feed tells us
            except DataNotFoundError:
                logger.warning("%s: no longer listed by the exchange; releasing it", ticker)
                self.market_settled(ticker)
        self.checks += 1
        waiting = {series for series in self.series if not any(s == series for _, s in listed.values())}
        for series in waiting - self._waiting:
            logger.info("%s: no open or upcoming market; waiting for the next one", series)
        self._waiting = waiting
        return added

    def status(self) -> str:
        """What discovery is doing, in words (for the live table)."""
        if self.failures:
            wait = max(0.0, self._retry_at - time.monotonic())
            return (
                f"REST failing ({self.last_error}); retry in {wait:.0f} s; "
                f"recording the {len(self.feed.books)} markets known"
            )
        if not self.checks:
            return "listing markets"
        age = time.monotonic() - self._last_check
        return f"{len(self.found)} markets found; REST checked {age:.0f} s ago"

    # -- markets in and out ---------------------------------------------------------------

    def adopt(self, ticker: str, series: str | None, info: MarketInfo | None = None) -> bool:
        """Start recording ``ticker`` (book, subscription, metadata); False if already known."""
        feed = self.feed
        if ticker in self.found or ticker in feed.books or ticker in feed.finished:
            return False
        self.found[ticker] = series
        feed.add_market(ticker, series)
        self.ws.add_markets((ticker,))
        logger.info("%s: recording (series %s)", ticker, series or "unknown")
        self._spawn(self._describe(ticker, info), f"describe-{ticker}")
        return True

    async def _describe(self, ticker: str, info: MarketInfo | None) -> None:
        """Record the market's REST metadata and fees (retried: the book streams meanwhile)."""
        backoff = Backoff(self.config.retry_initial_s, self.config.retry_max_s, random.Random())
        for _ in range(self.config.startup_attempts):
            try:
                if info is None:
                    await self.metadata.fetch_and_record(ticker)
                else:
                    await self.metadata.record(info)
                return
            except (ExchangeError, DataNotFoundError) as exc:
                logger.warning("%s: metadata not fetched (%s)", ticker, exc)
                await asyncio.sleep(backoff.next_delay())

    def market_seen(self, event: LifecycleEvent) -> bool:
        """A lifecycle frame of a market not recorded: record it if it is one of ours."""
        if event.event_type in TOO_LATE:
            return False
        ticker = event.market_ticker
        # ``created`` names the event; other frames only the market (EVENT-SUFFIX by convention).
        event_ticker = event.event_ticker or ticker.rsplit("-", 1)[0]
        series = self._event_series.get(event_ticker) or event_ticker.split("-", 1)[0]
        if series not in self.series and event_ticker not in self.events:
            return False
        return self.adopt(ticker, series)

    def event_created(self, event: EventLifecycle) -> None:
        self._event_series[event.event_ticker] = event.series_ticker
        while len(self._event_series) > EVENT_SERIES_CACHE:
            self._event_series.popitem(last=False)

    def market_settled(self, ticker: str) -> None:
        if ticker in self.found and ticker not in self.releasing:
            self.releasing.add(ticker)
            self._spawn(self._release(ticker), f"release-{ticker}")

    def lifecycle_lost(self, reconnect: bool) -> None:
        if reconnect:  # frames are lost until the next connection's lifecycle subscription
            self._wait_live = True
        self._wake.set()

    async def _release(self, ticker: str) -> None:
        await asyncio.sleep(self.config.settle_grace_s)  # the market's last frames come in
        try:
            await self.metadata.fetch_and_record(ticker)  # its final status and result
        except (ExchangeError, DataNotFoundError) as exc:
            logger.warning("%s: final metadata not fetched (%s)", ticker, exc)
        self.ws.remove_markets((ticker,))
        record = self.feed.release_market(ticker)
        self.found.pop(ticker, None)
        self.releasing.discard(ticker)
        if record is not None:
            logger.info(
                "%s: settled %s, released (%d snapshots, %d deltas, %d gaps)",
                ticker,
                record.result or "",
                record.snapshots,
                record.deltas,
                record.gaps,
            )

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
