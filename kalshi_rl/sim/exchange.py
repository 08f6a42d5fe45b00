"""``SimExchange``: a local exchange that speaks Kalshi's WebSocket protocol (and a bit of REST).

One generator task advances every market (the market of each event is drawn from the
seeded exchange RNG) and broadcasts each event to every subscribed connection: the frame
body is built once, each connection stamps its own sid and seq. A second task runs the
market lifecycle (close, ``determined``, ``settled``) on the wall clock.

The book is frozen by ``pause()``; with ``rate=0`` the generator runs flat out but waits
(briefly) for connections whose outbox is long, so a reader in another process sees tens
of thousands of messages per second. permessage-deflate is not offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from kalshi_rl.core.errors import ConfigError, KalshiRLError
from kalshi_rl.core.events import Level
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.auth import load_public_key
from kalshi_rl.sim import protocol as proto
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.frames import DELTA_TYPE, LIFECYCLE_TYPE, TRADE_TYPE, body_of, check_against_encoder
from kalshi_rl.sim.ledger import Ledger, LifecyclePayload, SimCounters
from kalshi_rl.sim.market import MarketTiming, SimMarket
from kalshi_rl.sim.model import MarketModelConfig, ModelDelta
from kalshi_rl.sim.rest import REST_PREFIX, WS_PATH, make_process_request
from kalshi_rl.sim.session import Session

logger = logging.getLogger(__name__)

_FAST_BATCH_EVENTS = 512
_BACKPRESSURE_WAIT_S = 1.0


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes one local exchange."""

    markets: int = 2
    seed: int = 7
    rate: float = 200.0
    """Target model events (deltas and trades) per second for the whole exchange; 0 = flat out."""
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port."""
    market_duration_s: float = 3600.0
    """Seconds from start to every market's close_time."""
    determination_delay_s: float = 0.0
    """Seconds from close to the ``determined`` event (status closed in between)."""
    settlement_delay_s: float = 1.0
    """Seconds from determination to the ``settled`` event (status finalized)."""
    public_key_path: Path | None = None
    """PEM public key; when set, the handshake must carry a valid Kalshi signature."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    model: MarketModelConfig = field(default_factory=MarketModelConfig)
    record_ledger: bool = True
    """Keep every generated message per connection (tests); turn off for long runs."""
    max_outbox_frames: int = 500_000
    """Queued frames after which a connection's subscriptions end with error 25."""

    def __post_init__(self) -> None:
        if not 1 <= self.markets <= 100:
            raise ConfigError(f"markets must be between 1 and 100, got {self.markets}")
        if self.rate < 0:
            raise ConfigError(f"rate must be >= 0 (0 = as fast as possible), got {self.rate}")
        if self.market_duration_s <= 0:
            raise ConfigError(f"market_duration_s must be > 0, got {self.market_duration_s}")


class SimExchange:
    """The in-process local exchange; ``await start()`` returns its WebSocket URL."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.ledger = Ledger(self.config.record_ledger)
        self.counters = SimCounters()
        market_list = [SimMarket(i, self.config.seed, self.config.model) for i in range(self.config.markets)]
        self.markets: dict[str, SimMarket] = {m.ticker: m for m in market_list}
        self._market_list = market_list
        self._rng = random.Random(f"{self.config.seed}:exchange")
        self._sessions: dict[int, Session] = {}
        self._next_conn = 1
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running = asyncio.Event()
        self._running.set()
        self._open_ms = 0
        self._duration_ms = int(self.config.market_duration_s * 1000)
        self.port = 0

    # -- public -------------------------------------------------------------------------------

    @property
    def tickers(self) -> list[str]:
        return list(self.markets)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}{WS_PATH}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.config.host}:{self.port}{REST_PREFIX}"

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def sessions(self) -> dict[int, Session]:
        """Return the open connections by connection number."""
        return dict(self._sessions)

    async def start(self) -> str:
        """Open the markets, start serving and generating; return the WebSocket URL."""
        if self._server is not None:
            raise KalshiRLError("the local exchange is already running")
        check_against_encoder()
        cfg = self.config
        public_key = load_public_key(cfg.public_key_path) if cfg.public_key_path else None
        self._open_ms = time.time_ns() // 1_000_000
        timing = MarketTiming(
            self._open_ms,
            self._open_ms + self._duration_ms,
            int(cfg.determination_delay_s * 1000),
            int(cfg.settlement_delay_s * 1000),
        )
        for market in self._market_list:
            market.schedule(timing)
        try:
            self._server = await serve(
                self._handle,
                cfg.host,
                cfg.port,
                process_request=make_process_request(self.markets, public_key),
                compression=None,  # frames are written pre-framed and uncompressed (outbox.py)
                max_size=1 << 20,
                write_limit=1 << 22,
                logger=logging.getLogger(f"{__name__}.ws"),
            )
        except OSError as exc:
            raise ConfigError(f"cannot listen on {cfg.host}:{cfg.port} ({exc.strerror})") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks = [
            asyncio.create_task(self._generate(), name="sim-generator"),
            asyncio.create_task(self._lifecycle(), name="sim-lifecycle"),
        ]
        for task in self._tasks:
            task.add_done_callback(_log_crash)
        logger.info("local exchange on %s with %s", self.ws_url, ", ".join(self.tickers))
        return self.ws_url

    async def stop(self) -> None:
        """Stop generating, close every connection and the listening socket."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def pause(self) -> None:
        """Freeze every book (lifecycle keeps running)."""
        self._running.clear()

    def resume(self) -> None:
        """Let the books move again."""
        self._running.set()

    def book(self, ticker: str) -> tuple[list[Level], list[Level]]:
        """Return the exchange's current ``(yes_bids, no_bids)`` of a market, ascending."""
        yes_bids, no_bids = self.markets[ticker].book.snapshot()
        return list(yes_bids), list(no_bids)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every connection's outbox has been written (use after ``pause``)."""
        deadline = time.monotonic() + timeout_s
        while not all(s.outbox.flushed for s in self._sessions.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"outboxes not drained within {timeout_s} s")
            await asyncio.sleep(0.005)

    def step(self, steps: int = 1) -> int:
        """Run ``steps`` model steps now (for tests on a paused exchange); return the events made."""
        if self._server is None:
            raise KalshiRLError("start the exchange before stepping it")
        before = self.counters.model_events
        progress = self._progress()
        now_ms = time.time_ns() // 1_000_000
        for _ in range(steps):
            self._step(progress, now_ms)
        return self.counters.model_events - before

    # -- connections --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn = self._next_conn
        self._next_conn += 1
        session = Session(conn, ws, self, self.config.faults, self.config.max_outbox_frames)
        self._sessions[conn] = session
        self.counters.connections_total += 1
        self.counters.connections_open += 1
        writer = asyncio.create_task(session.outbox.run(), name=f"sim-writer-{conn}")
        writer.add_done_callback(_log_crash)
        try:
            async for message in ws:
                session.handle(message)
        except ConnectionClosed:
            pass
        finally:
            self._sessions.pop(conn, None)
            self.counters.connections_open -= 1
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    # -- generation ---------------------------------------------------------------------------

    def _progress(self) -> float:
        elapsed = time.time_ns() // 1_000_000 - self._open_ms
        return min(1.0, max(0.0, elapsed / self._duration_ms))

    async def _generate(self) -> None:
        loop = asyncio.get_running_loop()
        rate = self.config.rate
        started, produced = loop.time(), 0
        while True:
            if not self._running.is_set():
                await self._running.wait()
                started, produced = loop.time(), 0
            if not any(m.trading for m in self._market_list):
                await asyncio.sleep(0.05)
                continue
            if rate > 0:
                due = int((loop.time() - started) * rate) - produced
                if due <= 0:
                    await asyncio.sleep(max(0.001, (produced + 1) / rate - (loop.time() - started)))
                    continue
                count = min(due, _FAST_BATCH_EVENTS)
            elif not self._sessions:
                await asyncio.sleep(0.01)  # flat out, but nobody is listening: idle
                continue
            else:
                count = _FAST_BATCH_EVENTS
            produced += self._events(count)
            await self._backpressure()

    def _events(self, count: int) -> int:
        """Step the markets until ``count`` events were made (bounded); return how many."""
        progress = self._progress()
        now_ms = time.time_ns() // 1_000_000
        counters = self.counters
        start = counters.model_events
        for _ in range(4 * count):  # a step makes 0 (refused), 1 or 2 (a trade) events
            self._step(progress, now_ms)
            if counters.model_events - start >= count:
                break
        return max(1, counters.model_events - start)

    def _step(self, progress: float, now_ms: int) -> None:
        markets = self._market_list
        market = markets[int(self._rng.random() * len(markets))]
        if not market.trading:
            return
        frames = market.frames
        sessions = self._sessions.values()
        for event in market.model.step(progress, now_ms):
            self.counters.model_events += 1
            if isinstance(event, ModelDelta):
                body = frames.delta_body(event.side, event.price_ticks, event.delta_units, now_ms)
                for session in sessions:
                    session.deliver(proto.ORDERBOOK, DELTA_TYPE, market.ticker, "delta", event, body)
            else:
                market.record_trade(event)
                body = frames.trade_body(
                    event.trade_id, event.yes_price_ticks, event.count_units, event.taker_side, now_ms
                )
                for session in sessions:
                    session.deliver(proto.TRADE, TRADE_TYPE, market.ticker, "trade", event, body)

    async def _backpressure(self) -> None:
        """Yield to the loop; wait (bounded) for connections whose outbox is too long."""
        await asyncio.sleep(0)
        for session in list(self._sessions.values()):
            outbox = session.outbox
            if not outbox.drained.is_set() and not outbox.stalled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(outbox.drained.wait(), _BACKPRESSURE_WAIT_S)

    # -- lifecycle ----------------------------------------------------------------------------

    async def _lifecycle(self) -> None:
        while True:
            now_ms = time.time_ns() // 1_000_000
            for market in self._market_list:
                while (due := market.next_transition_ms()) is not None and due <= now_ms:
                    step = market.advance(now_ms)
                    if step is not None:
                        self._broadcast_lifecycle(market, *step)
            dues = [d for m in self._market_list if (d := m.next_transition_ms()) is not None]
            if not dues:
                return
            await asyncio.sleep(max(0.0, (min(dues) - time.time_ns() // 1_000_000) / 1000))

    def _broadcast_lifecycle(self, market: SimMarket, event_type: str, fields: dict[str, object]) -> None:
        logger.info("%s %s %s", market.ticker, event_type, fields)
        body = body_of(encode.lifecycle_frame(0, 0, market.ticker, event_type, **fields))
        payload = LifecyclePayload(event_type, dict(fields))
        for session in list(self._sessions.values()):
            session.deliver(proto.LIFECYCLE, LIFECYCLE_TYPE, market.ticker, "lifecycle", payload, body)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s crashed", task.get_name(), exc_info=task.exception())
