"""``SimExchange``: a local exchange that speaks Kalshi's WebSocket protocol and public REST.

One generator task advances every trading market (the market of each event is drawn from
the seeded exchange RNG) and broadcasts each event to every subscribed connection: the frame
body is built once (twice for a NO-side book change when a subscriber reads yes-leg
prices), each connection stamps its own sid and seq. ``ticker`` messages go out when a
market's ticker values change, to ``ticker`` subscribers only. A second task, the
``LifecycleDriver``, runs market and event lifecycles and the ``ScheduleConfig`` on the wall
clock; its changes can also be made directly (``deactivate``, ``update_close_time``, ...).

The book is frozen by ``pause()``; with ``rate=0`` the generator runs flat out but waits
(briefly) for connections whose outbox is long, so a reader in another process sees tens
of thousands of messages per second. permessage-deflate is not offered.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import ConfigError, KalshiRLError
from kalshi_rl.core.events import Level, Side
from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.auth import load_public_key
from kalshi_rl.sim import protocol as proto
from kalshi_rl.sim.catalog import Catalog, SimEvent
from kalshi_rl.sim.commands import Commands
from kalshi_rl.sim.config import ScheduleConfig, SimConfig
from kalshi_rl.sim.encoding import PriceEncoding
from kalshi_rl.sim.frames import DELTA_TYPE, TICKER_TYPE, TRADE_TYPE, body_of, check_against_encoder
from kalshi_rl.sim.grid import PriceGrid
from kalshi_rl.sim.ledger import Kind, Ledger, Payload, SimCounters, TickerPayload
from kalshi_rl.sim.lifecycle import LifecycleDriver, now_ms
from kalshi_rl.sim.market import SimMarket
from kalshi_rl.sim.model import ModelDelta
from kalshi_rl.sim.rest import REST_PREFIX, WS_PATH, make_process_request
from kalshi_rl.sim.session import Session

__all__ = ["ScheduleConfig", "SimConfig", "SimExchange"]

logger = logging.getLogger(__name__)

_FAST_BATCH_EVENTS = 512
_BACKPRESSURE_WAIT_S = 1.0


class SimExchange:
    """The in-process local exchange; ``await start()`` returns its WebSocket URL."""

    def __init__(self, config: SimConfig | None = None, clock: Callable[[], int] = now_ms) -> None:
        """``clock`` gives the exchange time in epoch ms (the wall clock by default; a test may
        pass one it moves itself and take the lifecycle's steps with ``lifecycle.tick``)."""
        self.config = cfg = config or SimConfig()
        self.clock = clock
        self.ledger = Ledger(cfg.record_ledger, cfg.max_actions)
        self.counters = SimCounters()
        self.catalog = Catalog(cfg.seed, cfg.model, cfg.strike_tickers, cfg.keep_settled)
        self.encoding = PriceEncoding(cfg.price_encoding)
        self.lifecycle = LifecycleDriver(
            self.catalog, cfg, self.ledger, self.counters, self.encoding, self, clock
        )
        self._rng = random.Random(f"{cfg.seed}:exchange")
        self._sessions: dict[int, Session] = {}
        self._next_conn = 1
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running = asyncio.Event()
        self._running.set()
        self._trading: list[SimMarket] = []
        self._market_ids: dict[str, str] = {}
        self._ticker_listeners = False
        self._yes_leg_listeners = False
        self.port = 0
        if not cfg.rolling:  # rolling series make their first markets when the exchange starts
            self.lifecycle.create_event(self.clock())  # the markets exist (and open) from here on

    # -- public -------------------------------------------------------------------------------

    @property
    def markets(self) -> Mapping[str, SimMarket]:
        """Return every market by ticker, in creation order."""
        return self.catalog.markets

    @property
    def tickers(self) -> list[str]:
        return list(self.catalog.markets)

    @property
    def events(self) -> Mapping[str, SimEvent]:
        return self.catalog.events

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
        self.lifecycle.start_schedule(self.clock())
        try:
            self._server = await serve(
                self._handle,
                cfg.host,
                cfg.port,
                process_request=make_process_request(self.catalog, public_key),
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
            asyncio.create_task(self.lifecycle.run(), name="sim-lifecycle"),
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
        """Freeze every book (lifecycle and schedule keep running)."""
        self._running.clear()

    def stop_schedule(self) -> None:
        """Cancel what the ``ScheduleConfig`` has not done yet (a pause in progress stays on)."""
        self.lifecycle.stop_schedule()

    def stop_rolling(self) -> None:
        """Create no more markets of the rolling series (those made live their lives out)."""
        self.lifecycle.stop_rolling()

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
        now = self.clock()
        for _ in range(steps):
            self._step(now)
        return self.counters.model_events - before

    # -- market and event changes (what the schedule does, on demand) --------------------------

    def deactivate(self, ticker: str) -> None:
        """Pause trading on a market (``deactivated``)."""
        self.lifecycle.deactivate(self.markets[ticker], self.clock())

    def activate(self, ticker: str, cancel_resting: bool = True) -> None:
        """Resume trading on a paused market (``activated``; resting orders cancelled)."""
        self.lifecycle.activate(self.markets[ticker], self.clock(), cancel_resting)

    def update_close_time(self, ticker: str, close_ms: int) -> None:
        """Move a market's close time (``close_date_updated``)."""
        self.lifecycle.update_close(self.markets[ticker], close_ms, self.clock())

    def update_price_grid(self, ticker: str, structure: str) -> None:
        """Switch a market to another price level structure (``price_level_structure_updated``)."""
        self.lifecycle.update_grid(self.markets[ticker], PriceGrid.named(structure), self.clock())

    def update_metadata(self, ticker: str, yes_sub_title: str) -> None:
        """Change a market's YES subtitle (``metadata_updated``)."""
        self.lifecycle.update_metadata(self.markets[ticker], yes_sub_title, self.clock())

    def update_event_fee(self, event_ticker: str, override: FeeSchedule | None) -> None:
        """Set or clear (``None``) an event's fee override (``event_fee_update``)."""
        self.lifecycle.update_fee(self.catalog.events[event_ticker], override, self.clock())

    def create_event(
        self, markets: int | None = None, series: str | None = None, duration_s: float | None = None
    ) -> SimEvent:
        """Create a series' next event (``event_lifecycle``, then ``created`` per market)."""
        return self.lifecycle.create_event(self.clock(), markets, series, duration_s)

    def switch_encoding(self) -> None:
        """Flip every book subscription to the other price encoding, unannounced."""
        self.lifecycle.switch_encoding(self.clock())

    # -- what sessions and the lifecycle driver need (session.Venue, lifecycle.Outlet) ----------

    @property
    def market_ids(self) -> Mapping[str, str]:
        return self._market_ids

    @property
    def max_markets_per_subscription(self) -> int:
        return self.config.max_markets_per_subscription

    @property
    def command_rate(self) -> tuple[float, int]:
        return self.config.command_rate, self.config.command_burst

    def ticker_body(self, market: SimMarket, ts_ms: int) -> tuple[encode.TickerValues, str]:
        values = market.ticker_values()
        return values, body_of(encode.ticker_frame(0, market.ticker, market.market_id, values, ts_ms))

    def on_subscriptions_changed(self) -> None:
        sessions = self._sessions.values()
        self._ticker_listeners = any(s.listens(proto.TICKER) for s in sessions)
        self._yes_leg_listeners = any(s.listens(proto.ORDERBOOK, yes_leg=True) for s in sessions)

    def refresh(self) -> None:
        """Re-read which markets trade and which encodings are listened to (after a change)."""
        self._trading = [m for m in self.catalog.market_list if m.trading]
        self._market_ids = {m.market_id: m.ticker for m in self.catalog.market_list}
        self.on_subscriptions_changed()

    def broadcast(
        self, channel: str, frame_type: str, ticker: str, kind: Kind, payload: Payload, body: str
    ) -> None:
        for session in list(self._sessions.values()):
            session.deliver(channel, frame_type, ticker, kind, payload, body)

    def book_change(
        self, market: SimMarket, side: Side, price_ticks: int, delta_units: int, now: int
    ) -> None:
        """Apply an exchange-made book change (a cancellation) and send it like a model delta."""
        market.book.apply(side, price_ticks, delta_units)
        self._send_delta(market, ModelDelta(side, price_ticks, delta_units), now)
        self._send_ticker(market, now)

    def market_closed(self, market: SimMarket, now: int) -> None:
        """Empty a closed market's book without deltas and push its (empty) snapshot, as Kalshi does."""
        market.clear_book()
        for session in list(self._sessions.values()):
            session.push_snapshot(market.ticker)
        self._send_ticker(market, now)

    # -- connections --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn = self._next_conn
        self._next_conn += 1
        session = Session(conn, ws, self, self.config.faults, self.config.max_outbox_frames)
        commands = Commands(session)
        self._sessions[conn] = session
        self.counters.connections_total += 1
        self.counters.connections_open += 1
        writer = asyncio.create_task(session.outbox.run(), name=f"sim-writer-{conn}")
        writer.add_done_callback(_log_crash)
        try:
            async for message in ws:
                commands.handle(message)
        except ConnectionClosed:
            pass
        finally:
            self._sessions.pop(conn, None)
            self.on_subscriptions_changed()
            self.counters.connections_open -= 1
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    # -- generation ---------------------------------------------------------------------------

    async def _generate(self) -> None:
        loop = asyncio.get_running_loop()
        rate = self.config.rate
        started, produced = loop.time(), 0
        while True:
            if not self._running.is_set():
                await self._running.wait()
                started, produced = loop.time(), 0
            if not self._trading:
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
        now = self.clock()
        counters = self.counters
        start = counters.model_events
        for _ in range(4 * count):  # a step makes 0 (refused), 1 or 2 (a trade) events
            self._step(now)
            if counters.model_events - start >= count:
                break
        return max(1, counters.model_events - start)

    def _step(self, now: int) -> None:
        markets = self._trading
        if not markets:
            return
        market = markets[int(self._rng.random() * len(markets))]
        timing = market.timing
        progress = min(1.0, max(0.0, (now - timing.open_ms) / max(1, timing.close_ms - timing.open_ms)))
        for event in market.model.step(progress, now):
            self.counters.model_events += 1
            if isinstance(event, ModelDelta):
                self._send_delta(market, event, now)
            else:
                market.record_trade(event)
                body = market.frames.trade_body(
                    event.trade_id, event.yes_price_ticks, event.count_units, event.taker_side, now
                )
                self.broadcast(proto.TRADE, TRADE_TYPE, market.ticker, "trade", event, body)
        if self._ticker_listeners:
            self._send_ticker(market, now)

    def _send_delta(self, market: SimMarket, delta: ModelDelta, now: int) -> None:
        frames = market.frames
        body = frames.delta_body(delta.side, delta.price_ticks, delta.delta_units, now)
        yes_body = None
        if delta.side is Side.NO and self._yes_leg_listeners:
            yes_body = frames.delta_body(delta.side, delta.price_ticks, delta.delta_units, now, yes_leg=True)
        for session in self._sessions.values():
            session.deliver(proto.ORDERBOOK, DELTA_TYPE, market.ticker, "delta", delta, body, yes_body)

    def _send_ticker(self, market: SimMarket, now: int) -> None:
        """Send a ``ticker`` message if any ticker field other than the time changed."""
        values = market.ticker_values()
        if values == market.last_ticker or not self._ticker_listeners:
            return
        market.last_ticker = values
        self.counters.ticker_sent += 1
        body = body_of(encode.ticker_frame(0, market.ticker, market.market_id, values, now))
        self.broadcast(proto.TICKER, TICKER_TYPE, market.ticker, "ticker", TickerPayload(values), body)

    async def _backpressure(self) -> None:
        """Yield to the loop; wait (bounded) for connections whose outbox is too long."""
        await asyncio.sleep(0)
        for session in list(self._sessions.values()):
            outbox = session.outbox
            if not outbox.drained.is_set() and not outbox.stalled:
                await wait_event(outbox.drained, _BACKPRESSURE_WAIT_S)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s crashed", task.get_name(), exc_info=task.exception())
