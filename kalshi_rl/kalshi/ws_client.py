"""``KalshiWsClient``: one authenticated WebSocket session, kept alive and in sequence.

It connects, sends what ``FeedStream`` (``stream.py``) asks (subscriptions, snapshot requests,
retries of refused commands), feeds it every frame, and reconnects with exponential backoff
and jitter (``backoff.py``); the stream tracks ``seq`` **per subscription id**, reports every
break (sequence gap, unreadable book frame, crossed book, terminal error, resubscription,
disconnect) to the handler and starts over on each connection (sids are renumbered;
``subscriptions.py``). Frames are parsed once; the handler receives exact domain events.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from kalshi_rl.core.aio import wait_event
from kalshi_rl.core.errors import AuthError, ExchangeError
from kalshi_rl.core.log_context import bind
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.kalshi.backoff import Backoff
from kalshi_rl.kalshi.feed import FeedBreak, FeedHandler
from kalshi_rl.kalshi.messages import Subscribed
from kalshi_rl.kalshi.stream import FeedStream
from kalshi_rl.kalshi.subscriptions import LIFECYCLE, ORDERBOOK
from kalshi_rl.kalshi.ws_config import WsConfig, WsStats

__all__ = ["LIFECYCLE", "ORDERBOOK", "FeedBreak", "FeedHandler", "KalshiWsClient", "WsConfig", "WsStats"]

logger = logging.getLogger(__name__)

RECENT_DELAYS = 32
"""How many of the latest reconnect delays ``WsStats`` keeps (a collector runs for weeks)."""


class KalshiWsClient:
    """Keeps one subscription set alive across disconnects; see the module docstring."""

    def __init__(
        self,
        config: WsConfig,
        handler: FeedHandler,
        credentials: Credentials | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.handler = handler
        self.credentials = credentials
        self.stats = WsStats()
        self.connected = asyncio.Event()
        self.working = asyncio.Event()
        """Set once every subscription of the current connection has been answered."""
        self._rng = rng or random.Random()
        self._ws: ClientConnection | None = None
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s, self._rng)
        self.stream = FeedStream(config, handler, self.stats, self._outbox.put_nowait, self._on_working)

    # -- public -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set. The first connection failing raises; later ones retry.

        Retries back off exponentially until a connection works again (see ``_on_subscribed``).
        """
        while not stop.is_set():
            try:
                await self._session(stop, first=self.stats.connects == 0)
            except (AuthError, ExchangeError):
                if self.stats.connects == 0:
                    raise
                logger.warning("connection attempt failed: %s", self.stats.last_error)
            except (TimeoutError, OSError, ConnectionClosed, InvalidHandshake) as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("connection lost: %s", self.stats.last_error)
            if stop.is_set():
                break
            delay = self._backoff.next_delay()
            self.stats.reconnect_delays_s.append(round(delay, 6))
            del self.stats.reconnect_delays_s[:-RECENT_DELAYS]
            logger.warning("reconnecting in %.2f s (attempt %d)", delay, self._backoff.failures)
            await wait_event(stop, delay)

    def add_markets(self, markets: tuple[str, ...]) -> tuple[str, ...]:
        """Add ``markets`` to the running subscriptions (``update_subscription`` ``add_markets``,
        or a new subscription where none has room) and to every later connection's; return
        the ones that were new. Their snapshots follow the exchange's ``ok``."""
        return self.stream.add_markets(markets)

    def remove_markets(self, markets: tuple[str, ...]) -> tuple[str, ...]:
        """Remove ``markets`` from the running subscriptions (``delete_markets``) and from every
        later connection's; return the ones that were subscribed or wanted."""
        return self.stream.remove_markets(markets)

    def subscribed_markets(self, channel: str = ORDERBOOK) -> frozenset[str]:
        """The markets the exchange has acknowledged on ``channel`` on this connection."""
        return frozenset(m for sub in self.stream.subs.of_channel(channel) for m in sub.markets)

    def request_snapshot(self, market: str) -> None:
        """Ask for a fresh orderbook snapshot of ``market`` (after it became inconsistent)."""
        self.stream.request_snapshot(market)

    def _on_working(self) -> None:
        self._backoff.reset()
        self.working.set()

    # -- one connection -----------------------------------------------------------------------

    async def _session(self, stop: asyncio.Event, first: bool) -> None:
        headers = self.credentials.headers("GET", self.config.url) if self.credentials else None
        try:
            ws = await connect(
                self.config.url,
                additional_headers=headers,
                open_timeout=self.config.open_timeout_s,
                ping_interval=self.config.ping_interval_s,
                max_size=self.config.max_frame_bytes,
                max_queue=self.config.max_queue_frames,
                compression=self.config.compression,
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            self.stats.last_error = f"handshake answered HTTP {status}"
            if status in (401, 403):
                raise AuthError(
                    f"{self.config.url} refused our credentials (HTTP {status}); check "
                    "KALSHI_API_KEY and that KALSHI_PRIVATE_KEY_PATH is that key's PEM file"
                ) from None
            raise ExchangeError(f"{self.config.url} refused the WebSocket (HTTP {status})") from None
        except InvalidURI:
            raise ExchangeError(f"not a WebSocket URL: {self.config.url!r}") from None
        except (TimeoutError, OSError, InvalidHandshake) as exc:
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            if first:
                raise ExchangeError(
                    f"cannot connect to {self.config.url} ({self.stats.last_error}); is the "
                    "exchange (or `kalshi-rl sim`) running, and is the URL right?"
                ) from None
            raise
        self._ws = ws
        commands = self._open_connection()
        bind(conn_id=self.conn_id)  # the tasks below, and this one from here on
        self.connected.set()
        writer = asyncio.create_task(self._write_loop(ws), name="kalshi-ws-writer")
        watchdog = asyncio.create_task(self._resync_watchdog(), name="kalshi-ws-resync")
        stopper = asyncio.create_task(stop.wait(), name="kalshi-ws-stop")
        reader = asyncio.create_task(self._read_loop(ws), name="kalshi-ws-reader")
        try:
            for command in commands:
                self._outbox.put_nowait(command)
            done, _ = await asyncio.wait({reader, writer, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            self.connected.clear()
            self.working.clear()
            for task in (writer, watchdog, stopper, reader):
                task.cancel()
            await asyncio.gather(writer, watchdog, stopper, reader, return_exceptions=True)
            await ws.close()
            self._ws = None
            self.stream.close_connection(time.time_ns(), self.stats.last_error)

    def _open_connection(self) -> list[str]:
        """A new connection: all subscription state starts over (sids are renumbered)."""
        while not self._outbox.empty():
            self._outbox.get_nowait()
        return self.stream.open_connection()

    # -- recorded streams ---------------------------------------------------------------------

    def replay_connection(self, subscriptions: dict[str, int]) -> None:
        """Start a recorded connection whose subscriptions (channel -> sid) already exist.

        Used to push a recording (``feed``) through exactly the path live frames take.
        """
        if self.stats.connects:
            self.stream.close_connection(self.stream.last_recv_ns, "end of recorded connection")
        self._open_connection()
        self.stream.subs.requests.clear()  # nothing was asked: the recording says what exists
        for channel, sid in subscriptions.items():
            self.stream.adopt(Subscribed(None, channel, sid))

    def end_replay(self) -> None:
        self.stream.close_connection(self.stream.last_recv_ns, "end of recording")

    def feed(self, data: str | bytes, recv_ns: int) -> None:
        """Parse and dispatch one frame received at ``recv_ns`` (the live read loop's body)."""
        self.stream.feed(data, recv_ns)

    async def _write_loop(self, ws: ClientConnection) -> None:
        while True:
            await ws.send(await self._outbox.get())

    async def _read_loop(self, ws: ClientConnection) -> None:
        feed = self.stream.feed
        try:
            async for data in ws:
                # Receive times never go backwards (feed clamps them), even if the wall clock
                # is stepped, so "received at or before t" is one cut of the stream.
                feed(data, time.time_ns())
        except ConnectionClosed as exc:
            self.stats.last_error = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            raise

    async def _resync_watchdog(self) -> None:
        """Resubscribe the book when a requested snapshot does not come in time."""
        while True:
            await asyncio.sleep(min(1.0, self.config.resync_timeout_s / 2))
            self.stream.check_resync_deadlines(time.monotonic())

    @property
    def conn_id(self) -> int:
        return self.stream.conn_id

    def subscription_seqs(self) -> dict[str, int | None]:
        """Return the last seq seen per channel (for the live table)."""
        return self.stream.subscription_seqs()
