"""``Collector``: the ``kalshi-rl collect`` pipeline, from the WebSocket to the sinks.

KalshiWsClient -> OrderbookClient -> SharedOrderbookState (one per market) and
OrderbookWriteQueue -> Parquet lake (always) + PostgreSQL (when configured).

Before streaming it fetches each market's REST metadata and, once per event and series, the
fee schedule that applies (the series' ``fee_type``/``fee_multiplier``, or the event's
override); they are stored in the lake's ``markets`` table and kept in each market's status.
A series or event that cannot be fetched leaves Kalshi's default schedule in force, logged and
recorded as such (``fee_source`` = default).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import DataNotFoundError, ExchangeError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector_view import CollectorParts, CollectorView, SinkRow, ViewBuilder
from kalshi_rl.data.ingest.orderbook_client import MarketStats, OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink, Sink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.writer import LakeWriter, recover_journals
from kalshi_rl.data.storage.database import libpq_conninfo, open_database, parse_database_url
from kalshi_rl.data.storage.postgres_sink import PostgresSink, SinkStats
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.kalshi.rest import EventInfo, KalshiRestClient, SeriesInfo
from kalshi_rl.kalshi.ws_client import KalshiWsClient, WsConfig, WsStats

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectorConfig:
    ws: WsConfig
    rest_url: str
    lake_dir: Path
    database_url: str | None = None
    write: WriteQueueConfig = field(default_factory=WriteQueueConfig)
    rotate_s: float = 300.0
    rotate_bytes: int = 64 * 1024 * 1024
    metadata_poll_s: float = 30.0


@dataclass
class CollectorSummary:
    session_id: str
    duration_s: float
    markets: dict[str, MarketStats]
    ws: WsStats
    sinks: dict[str, SinkStats]
    frames: int
    quarantined_unattributed: int


class Collector:
    """Runs one collection session until stopped; see the module docstring."""

    def __init__(self, config: CollectorConfig, credentials: Credentials | None = None) -> None:
        self.config = config
        self.session_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.started_ns = time.time_ns()
        self.books = {t: SharedOrderbookState(t) for t in config.ws.market_tickers}
        self.sinks: list[Sink] = []
        self._credentials = credentials
        self.queue: OrderbookWriteQueue | None = None
        self.feed: OrderbookClient | None = None
        self.ws: KalshiWsClient | None = None
        self._view = ViewBuilder()

    async def prepare(self) -> None:
        """Check every dependency before streaming: database, lake, market metadata."""
        if self.config.database_url:
            url = parse_database_url(self.config.database_url)
            engine = await asyncio.to_thread(open_database, self.config.database_url, self.config.lake_dir)
            engine.dispose()  # only a check that the schema is there: the sink has its own connection
            self.sinks.append(PostgresSink(libpq_conninfo(url)))
        recover_journals(self.config.lake_dir)
        writer = LakeWriter(
            self.config.lake_dir, self.session_id, self.config.rotate_s, self.config.rotate_bytes
        )
        self.sinks.insert(0, LakeSink(writer))
        self.queue = OrderbookWriteQueue(self.sinks, self.config.write)
        self.feed = OrderbookClient(self.books, self.queue, self.session_id, self.started_ns // 1_000_000)
        self.ws = KalshiWsClient(self.config.ws, self.feed, self._credentials)
        self.feed.request_snapshot = self.ws.request_snapshot
        rest = KalshiRestClient(self.config.rest_url)
        try:
            fees = _FeeFetcher(rest)
            for ticker in self.config.ws.market_tickers:
                info = await rest.get_market(ticker)
                series_ticker, series_fee, event_fee = await fees.of(info)
                self.feed.record_market_info(info, series_ticker, series_fee, event_fee)
        finally:
            await rest.aclose()

    async def run(self, stop: asyncio.Event) -> CollectorSummary:
        """Stream until ``stop`` is set, then flush every queue and close every sink."""
        if self.ws is None:
            await self.prepare()
        assert self.ws is not None and self.queue is not None and self.feed is not None
        self.queue.start()
        poller = asyncio.create_task(self._poll_metadata(stop), name="market-metadata")
        try:
            await self.ws.run(stop)
        finally:
            stop.set()
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            await self.queue.close()
        return self.summary()

    async def _poll_metadata(self, stop: asyncio.Event) -> None:
        """Refresh REST metadata so status/result changes are recorded even without events."""
        assert self.feed is not None
        rest = KalshiRestClient(self.config.rest_url)
        last: dict[str, MarketInfo] = {}
        try:
            while not stop.is_set():
                await wait_event(stop, self.config.metadata_poll_s)
                if stop.is_set():
                    break
                for ticker in self.config.ws.market_tickers:
                    try:
                        info = await rest.get_market(ticker)
                    except ExchangeError as exc:
                        logger.warning("metadata refresh for %s failed: %s", ticker, exc)
                        continue
                    previous = last.get(ticker) or self.books[ticker].status.info
                    if previous is None or (info.status, info.result) != (previous.status, previous.result):
                        self.feed.record_market_info(info)
                    last[ticker] = info
        finally:
            await rest.aclose()

    def unsubscribable(self) -> dict[str, str]:
        """Markets the exchange refused to subscribe, with the reason."""
        return dict(self.ws.stats.unsubscribable) if self.ws else {}

    def view(self, top: int = 10) -> CollectorView:
        """What the live table shows: totals, the ``top`` most active markets, the markets with
        problems, the series waiting for a market, the finished markets (see ``collector_view``)."""
        feed = self.feed
        sinks = tuple(
            SinkRow(
                s.name,
                sum(s.stats.rows_written.values()),
                s.stats.healthy,
                s.stats.backlog_rows,
                s.stats.last_error,
            )
            for s in self.sinks
        )
        parts = CollectorParts(
            session_id=self.session_id,
            started_ns=self.started_ns,
            books=self.books,
            stats=feed.stats if feed else {},
            series_of=feed.series_tickers if feed else {},
            finished={},
            wanted_series=(),
            frames=feed.frames if feed else 0,
            quarantined_unattributed=feed.quarantined_unattributed if feed else 0,
            reconnects=self.ws.stats.reconnects if self.ws else 0,
            queue_depth=self.queue.depth() if self.queue else 0,
            sinks=sinks,
        )
        return self._view.build(parts, top)

    def summary(self) -> CollectorSummary:
        assert self.feed is not None and self.ws is not None
        return CollectorSummary(
            session_id=self.session_id,
            duration_s=(time.time_ns() - self.started_ns) / 1e9,
            markets=dict(self.feed.stats),
            ws=self.ws.stats,
            sinks={sink.name: sink.stats for sink in self.sinks},
            frames=self.feed.frames,
            quarantined_unattributed=self.feed.quarantined_unattributed,
        )


class _FeeFetcher:
    """Each market's series and event fee schedules, every event and series fetched once."""

    def __init__(self, rest: KalshiRestClient) -> None:
        self.rest = rest
        self._events: dict[str, EventInfo | None] = {}
        self._series: dict[str, SeriesInfo | None] = {}

    async def of(self, info: MarketInfo) -> tuple[str | None, FeeSchedule | None, FeeSchedule | None]:
        """``(series_ticker, series fee, event override)`` of ``info``'s market (``None``: unknown)."""
        event = await self._event(info.event_ticker) if info.event_ticker else None
        raw_series = info.raw.get("series_ticker")
        series_ticker = event.series_ticker if event else raw_series if isinstance(raw_series, str) else None
        series = await self._series_info(series_ticker) if series_ticker else None
        if series is None and event is None:
            logger.warning("%s: no series fee schedule known; Kalshi's default schedule applies", info.ticker)
        return series_ticker, series.fee if series else None, event.fee_override if event else None

    async def _event(self, ticker: str) -> EventInfo | None:
        if ticker not in self._events:
            try:
                self._events[ticker] = await self.rest.get_event(ticker)
            except (DataNotFoundError, ExchangeError) as exc:
                logger.warning("event %s: %s", ticker, exc)
                self._events[ticker] = None
        return self._events[ticker]

    async def _series_info(self, ticker: str) -> SeriesInfo | None:
        if ticker not in self._series:
            try:
                self._series[ticker] = await self.rest.get_series(ticker)
            except (DataNotFoundError, ExchangeError) as exc:
                logger.warning("series %s: %s", ticker, exc)
                self._series[ticker] = None
        return self._series[ticker]
