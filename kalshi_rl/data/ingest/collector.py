"""``Collector``: the ``kalshi-rl collect`` pipeline, from the WebSocket to the sinks.

KalshiWsClient -> OrderbookClient -> SharedOrderbookState (one per market) and
OrderbookWriteQueue -> Parquet lake (always) + PostgreSQL (when configured).

It records the markets it is given (``ws.market_tickers``) and, with ``series`` or
``events``, every market of them (``discovery.py``): found over REST and on the lifecycle
channel, added to the running subscription before they open, released once settled, so one
session can follow a rolling series for weeks. Before streaming it checks that the series and
events exist and fetches each market's REST metadata and fee schedules (``market_metadata``);
they are stored in the lake's ``markets`` table and kept in each market's status. All REST
requests share one rate limit (``rest_tokens_per_s``, Kalshi's Basic tier by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import ExchangeError
from kalshi_rl.core.events import MarketInfo
from kalshi_rl.core.log_context import bind
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector_view import CollectorParts, CollectorView, SinkRow, ViewBuilder
from kalshi_rl.data.ingest.discovery import Discovery, DiscoveryConfig
from kalshi_rl.data.ingest.market_metadata import MarketMetadata
from kalshi_rl.data.ingest.market_stats import FinishedMarket
from kalshi_rl.data.ingest.orderbook_client import MarketStats, OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink, Sink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.writer import LakeWriter, recover_journals
from kalshi_rl.data.storage.database import libpq_conninfo, open_database, parse_database_url
from kalshi_rl.data.storage.postgres_sink import PostgresSink, SinkStats
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.kalshi.rate_limit import BASIC_READ_TOKENS_PER_S, TokenBucket
from kalshi_rl.kalshi.rest import KalshiRestClient
from kalshi_rl.kalshi.ws_client import KalshiWsClient, WsConfig, WsStats

logger = logging.getLogger(__name__)

TICKERS_PER_REQUEST = 100
"""Markets asked for in one ``GET /markets?tickers=`` (a URL stays well under 8 KB)."""


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
    series: tuple[str, ...] = ()
    """Series whose every market is recorded, as Kalshi creates them (``--series``)."""
    events: tuple[str, ...] = ()
    """Events whose every market is recorded (``--event``)."""
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    rest_tokens_per_s: float = BASIC_READ_TOKENS_PER_S
    """The REST read budget (Kalshi's rate limit tokens per second; a GET costs 10)."""


@dataclass
class CollectorSummary:
    session_id: str
    duration_s: float
    markets: dict[str, MarketStats]
    """Markets still recorded at the end."""
    ws: WsStats
    sinks: dict[str, SinkStats]
    frames: int
    quarantined_unattributed: int
    finished: dict[str, FinishedMarket] = field(default_factory=dict)
    """Markets recorded to their settlement and released during the session."""


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
        self.rest: KalshiRestClient | None = None
        self.discovery: Discovery | None = None
        self._view = ViewBuilder()

    async def prepare(self) -> None:
        """Check every dependency before streaming: database, lake, series and events, market
        metadata. An unknown series or event raises ``ConfigError`` (nothing is connected)."""
        config = self.config
        if config.database_url:
            url = parse_database_url(config.database_url)
            engine = await asyncio.to_thread(open_database, config.database_url, config.lake_dir)
            engine.dispose()  # only a check that the schema is there: the sink has its own connection
            self.sinks.append(PostgresSink(libpq_conninfo(url)))
        recover_journals(config.lake_dir)
        writer = LakeWriter(config.lake_dir, self.session_id, config.rotate_s, config.rotate_bytes)
        self.sinks.insert(0, LakeSink(writer))
        self.queue = OrderbookWriteQueue(self.sinks, config.write)
        self.feed = OrderbookClient(self.books, self.queue, self.session_id, self.started_ns // 1_000_000)
        self.ws = KalshiWsClient(config.ws, self.feed, self._credentials)
        self.feed.request_snapshot = self.ws.request_snapshot
        self.rest = KalshiRestClient(config.rest_url, bucket=TokenBucket(config.rest_tokens_per_s))
        metadata = MarketMetadata(self.rest, self.feed)
        try:
            if config.series or config.events:
                self.discovery = Discovery(
                    config.series, config.events, config.discovery, self.rest, metadata, self.feed, self.ws
                )
                self.feed.watcher = self.discovery
                await self.discovery.validate()
            await self._describe_given(metadata)
            if self.discovery is not None:
                await self.discovery.initial()
        except BaseException:
            await self._close_rest()
            raise

    async def _describe_given(self, metadata: MarketMetadata) -> None:
        """Record the given markets' metadata: listed many at a time (``GET /markets?tickers=``);
        one the listing leaves out is asked alone, so an unknown ticker raises with its name."""
        assert self.rest is not None
        given = self.config.ws.market_tickers
        for start in range(0, len(given), TICKERS_PER_REQUEST):
            chunk = given[start : start + TICKERS_PER_REQUEST]
            listed = (
                {i.ticker: i for i in await self.rest.list_markets(tickers=chunk)} if len(chunk) > 1 else {}
            )
            for ticker in chunk:
                info = listed.get(ticker)
                await (metadata.record(info) if info is not None else metadata.fetch_and_record(ticker))

    async def run(self, stop: asyncio.Event) -> CollectorSummary:
        """Stream until ``stop`` is set, then flush every queue and close every sink."""
        bind(session_id=self.session_id)  # every line of this session's tasks carries it
        if self.ws is None:
            await self.prepare()
        assert self.ws is not None and self.queue is not None and self.feed is not None
        self.queue.start()
        tasks = [asyncio.create_task(self._poll_metadata(stop), name="market-metadata")]
        if self.discovery is not None:
            tasks.append(asyncio.create_task(self.discovery.run(), name="market-discovery"))
        try:
            await self.ws.run(stop)
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.discovery is not None:
                await self.discovery.close()
            await self.queue.close()
            await self._close_rest()
        return self.summary()

    async def _close_rest(self) -> None:
        if self.rest is not None:
            with contextlib.suppress(Exception):
                await self.rest.aclose()

    async def _poll_metadata(self, stop: asyncio.Event) -> None:
        """Refresh the given markets' REST metadata so status/result changes are recorded even
        without events (discovered markets are checked by discovery)."""
        assert self.feed is not None and self.rest is not None
        last: dict[str, MarketInfo] = {}
        while not stop.is_set():
            await wait_event(stop, self.config.metadata_poll_s)
            if stop.is_set():
                break
            for ticker in self.config.ws.market_tickers:
                try:
                    info = await self.rest.get_market(ticker)
                except ExchangeError as exc:
                    logger.warning("metadata refresh for %s failed: %s", ticker, exc)
                    continue
                shared = self.books.get(ticker)
                previous = last.get(ticker) or (shared.status.info if shared else None)
                if previous is None or (info.status, info.result) != (previous.status, previous.result):
                    self.feed.record_market_info(info)
                last[ticker] = info

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
            finished=feed.finished if feed else {},
            wanted_series=self.config.series,
            frames=feed.frames if feed else 0,
            quarantined_unattributed=feed.quarantined_unattributed if feed else 0,
            reconnects=self.ws.stats.reconnects if self.ws else 0,
            queue_depth=self.queue.depth() if self.queue else 0,
            sinks=sinks,
            discovery=self.discovery.status() if self.discovery else "",
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
            finished=dict(self.feed.finished),
        )
