"""``KalshiWsClient``: one authenticated WebSocket session, kept alive and in sequence.

It subscribes to the configured channels, tracks ``seq`` **per subscription id** (acks that
carry a seq consume one), reports every break in the stream (sequence gap, terminal error,
resubscription, disconnect) to its handler, asks for fresh snapshots, and reconnects with
exponential backoff and jitter (``backoff.py``), clearing all subscription state (sids are
renumbered; ``subscriptions.py``). Frames are parsed here, once; the handler receives exact
domain events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from kalshi_rl.core.errors import AuthError, ExchangeError, FrameError
from kalshi_rl.core.events import BookDelta, BookSnapshot
from kalshi_rl.kalshi.auth import Credentials
from kalshi_rl.kalshi.backoff import Backoff
from kalshi_rl.kalshi.feed import FeedBreak, FeedHandler
from kalshi_rl.kalshi.messages import (
    ErrorReply,
    ListSubscriptions,
    Ok,
    Subscribed,
    Unsubscribed,
    parse_frame,
)
from kalshi_rl.kalshi.sequence import SequenceTracker, SeqVerdict
from kalshi_rl.kalshi.subscriptions import LIFECYCLE, ORDERBOOK, Subscription, Subscriptions

__all__ = ["LIFECYCLE", "ORDERBOOK", "FeedBreak", "FeedHandler", "KalshiWsClient", "WsConfig", "WsStats"]

logger = logging.getLogger(__name__)

RECENT_DELAYS = 32
"""How many of the latest reconnect delays ``WsStats`` keeps (a collector runs for weeks)."""


@dataclass(frozen=True)
class WsConfig:
    """How to reach the feed and what to subscribe to."""

    url: str
    market_tickers: tuple[str, ...]
    channels: tuple[str, ...] = (ORDERBOOK, "trade", LIFECYCLE)
    reconnect_initial_s: float = 0.25
    reconnect_max_s: float = 30.0
    resync_timeout_s: float = 5.0
    open_timeout_s: float = 10.0
    ping_interval_s: float | None = 20.0
    max_frame_bytes: int = 16 * 1024 * 1024
    max_queue_frames: int = 4096  # frames buffered before TCP backpressure; small = many pauses
    compression: str | None = "deflate"


@dataclass
class WsStats:
    """Counters of the client's life; ``errors`` counts exchange error replies by code."""

    connects: int = 0
    reconnects: int = 0
    frames: int = 0
    gaps: int = 0
    resubscribes: int = 0
    snapshot_requests: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    last_error: str = ""
    reconnect_delays_s: list[float] = field(default_factory=list)
    """The latest waits before a connection attempt, oldest first (``RECENT_DELAYS`` at most)."""


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
        self._rng = rng or random.Random()
        self._ws: ClientConnection | None = None
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._subs = Subscriptions(config.channels, config.market_tickers)
        self._seqs = SequenceTracker()
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s, self._rng)
        self._worked = False  # has the current connection been fully subscribed?
        self._resync_deadline: dict[str, float] = {}  # market -> monotonic deadline
        self._conn_id = 0
        self._last_recv_ns = 0

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
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def request_snapshot(self, market: str) -> None:
        """Ask for a fresh orderbook snapshot of ``market`` (after it became inconsistent)."""
        sub = self._subs.by_channel.get(ORDERBOOK)
        if sub is None or market in self._resync_deadline:
            return  # a (re)subscription or an earlier request will bring the snapshot
        self._resync_deadline[market] = time.monotonic() + self.config.resync_timeout_s
        self._send_get_snapshot(sub, (market,))

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
        self._open_connection()
        self.connected.set()
        writer = asyncio.create_task(self._write_loop(ws), name="kalshi-ws-writer")
        watchdog = asyncio.create_task(self._resync_watchdog(), name="kalshi-ws-resync")
        stopper = asyncio.create_task(stop.wait(), name="kalshi-ws-stop")
        reader = asyncio.create_task(self._read_loop(ws), name="kalshi-ws-reader")
        try:
            self._send_all(self._subs.subscribe(self.config.channels, self.config.market_tickers))
            done, _ = await asyncio.wait({reader, writer, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            self.connected.clear()
            for task in (writer, watchdog, stopper, reader):
                task.cancel()
            await asyncio.gather(writer, watchdog, stopper, reader, return_exceptions=True)
            await ws.close()
            self._ws = None
            self._close_connection(time.time_ns(), self.stats.last_error)

    def _open_connection(self) -> None:
        """A new connection: all subscription state starts over (sids are renumbered)."""
        self._reset_state()
        self._conn_id += 1
        self.stats.connects += 1
        if self.stats.connects > 1:
            self.stats.reconnects += 1
        self.handler.on_connected(self._conn_id)

    def _close_connection(self, recv_ns: int, detail: str) -> None:
        markets = self.config.market_tickers
        self.handler.on_break(FeedBreak("disconnect", ORDERBOOK, None, markets, recv_ns, detail=detail))

    # -- recorded streams ---------------------------------------------------------------------

    def replay_connection(self, subscriptions: dict[str, int]) -> None:
        """Start a recorded connection whose subscriptions (channel -> sid) already exist.

        Used to push a recording (``feed``) through exactly the path live frames take.
        """
        if self.stats.connects:
            self._close_connection(self._last_recv_ns, "end of recorded connection")
        self._open_connection()
        for channel, sid in subscriptions.items():
            self._on_subscribed(Subscribed(None, channel, sid))

    def end_replay(self) -> None:
        self._close_connection(self._last_recv_ns, "end of recording")

    def feed(self, data: str | bytes, recv_ns: int) -> None:
        """Parse and dispatch one frame received at ``recv_ns`` (the live read loop's body)."""
        recv_ns = self._last_recv_ns = max(self._last_recv_ns, recv_ns)
        raw = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self.stats.frames += 1
        try:
            message = parse_frame(raw, recv_ns)
        except FrameError as exc:
            self.handler.on_quarantine(raw, recv_ns, exc.reason, exc.market_ticker)
            return
        self._dispatch(message, raw, recv_ns)

    def _reset_state(self) -> None:
        self._subs.clear()
        self._seqs.clear()
        self._worked = False
        self._resync_deadline.clear()
        while not self._outbox.empty():
            self._outbox.get_nowait()

    async def _write_loop(self, ws: ClientConnection) -> None:
        while True:
            await ws.send(await self._outbox.get())

    async def _read_loop(self, ws: ClientConnection) -> None:
        feed = self.feed
        try:
            async for data in ws:
                # Receive times never go backwards (feed clamps them), even if the wall clock
                # is stepped, so "received at or before t" is one cut of the stream.
                feed(data, time.time_ns())
        except ConnectionClosed as exc:
            self.stats.last_error = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            raise

    # -- dispatch -----------------------------------------------------------------------------

    def _dispatch(self, message: object, raw: str, recv_ns: int) -> None:
        if type(message) is BookDelta and self._seqs.advance(message.sid, message.seq):
            self.handler.on_event(message, raw)  # the common case: an in-order delta
            return
        if isinstance(message, Subscribed):
            self._on_subscribed(message)
            self.handler.on_control(raw, recv_ns)
            return
        seq = getattr(message, "seq", None)
        sid = getattr(message, "sid", None)
        if sid is not None and seq is not None and not self._check_seq(message, sid, seq, raw, recv_ns):
            return
        if isinstance(message, (ErrorReply, Unsubscribed, Ok, ListSubscriptions)):
            self.handler.on_control(raw, recv_ns)
            if isinstance(message, ErrorReply):
                self._on_error(message, recv_ns)
            elif isinstance(message, Unsubscribed) and self._subs.on_unsubscribed(message.sid):
                self._seqs.forget(message.sid)
            return
        if isinstance(message, BookSnapshot):
            self._resync_deadline.pop(message.market_ticker, None)
        self.handler.on_event(message, raw)  # type: ignore[arg-type]

    def _check_seq(self, message: object, sid: int, seq: int, raw: str, recv_ns: int) -> bool:
        """Advance the sid's sequence; report gaps. Return False to drop the message."""
        sub = self._subs.by_sid.get(sid)
        if sub is None:
            if sid in self._subs.retired:  # still in flight when we unsubscribed
                self.handler.on_control(raw, recv_ns, "retired_sid")
            else:
                self.handler.on_quarantine(raw, recv_ns, f"message for unknown sid {sid}", None)
            return False
        check = self._seqs.observe(sid, seq, isinstance(message, BookSnapshot))
        if check.verdict is SeqVerdict.IN_ORDER or check.verdict is SeqVerdict.RESNAPSHOT:
            return True
        if check.verdict is SeqVerdict.STALE:
            self.handler.on_quarantine(
                raw,
                recv_ns,
                f"seq {seq} for sid {sid} is not after {self._seqs.last(sid)} (duplicate or reordered)",
                None,
            )
            return False
        self.stats.gaps += 1
        logger.warning("expected seq %d for sid %d (%s), got %d", check.expected, sid, sub.channel, seq)
        self.handler.on_break(FeedBreak("gap", sub.channel, sid, sub.markets, recv_ns, check.expected, seq))
        if sub.channel == ORDERBOOK:
            self._request_all(sub)
        return True

    def _request_all(self, sub: Subscription) -> None:
        deadline = time.monotonic() + self.config.resync_timeout_s
        for market in sub.markets:
            self._resync_deadline.setdefault(market, deadline)
        self._send_get_snapshot(sub, sub.markets)

    def _on_subscribed(self, reply: Subscribed) -> None:
        self._subs.on_subscribed(reply)
        if not self._worked and self._subs.complete:
            # The connection works: the exchange took every subscription. Only now may the
            # backoff start over; a server that accepts the socket and drops it before
            # subscribing us (or refuses a channel) keeps the client backing off.
            self._worked = True
            self._backoff.reset()

    def _on_error(self, reply: ErrorReply, recv_ns: int) -> None:
        self.stats.errors[reply.code] = self.stats.errors.get(reply.code, 0) + 1
        self.stats.last_error = f"error {reply.code}: {reply.message}"
        logger.warning(
            "exchange error %d: %s (id %s, sid %s)", reply.code, reply.message, reply.id, reply.sid
        )
        if not reply.is_terminal:
            return
        sub = self._subs.by_sid.get(reply.sid) if reply.sid is not None else None
        channels = (sub.channel,) if sub else self._subs.channels_of_request(reply.id)
        for channel in channels:
            self._resubscribe(channel, f"terminal error {reply.code}: {reply.message}", recv_ns)

    def _resubscribe(self, channel: str, detail: str, recv_ns: int) -> None:
        self.stats.resubscribes += 1
        old = self._subs.retire(channel)
        markets = old.markets if old else self.config.market_tickers
        if old is not None:
            self._seqs.forget(old.sid)  # late frames of the old sid must not pass the fast path
            self._send(self._subs.unsubscribe(old.sid))
        self.handler.on_break(
            FeedBreak("resubscribe", channel, old.sid if old else None, markets, recv_ns, detail=detail)
        )
        for market in markets:
            self._resync_deadline.pop(market, None)
        self._send_all(self._subs.subscribe((channel,), markets))

    async def _resync_watchdog(self) -> None:
        """Resubscribe the book channel when a requested snapshot does not come in time."""
        while True:
            await asyncio.sleep(min(1.0, self.config.resync_timeout_s / 2))
            now = time.monotonic()
            if any(deadline < now for deadline in self._resync_deadline.values()):
                logger.warning("snapshot request timed out; resubscribing %s", ORDERBOOK)
                self._resubscribe(ORDERBOOK, "snapshot request timed out", time.time_ns())

    # -- commands -----------------------------------------------------------------------------

    def _send(self, frame: str) -> None:
        self._outbox.put_nowait(frame)

    def _send_all(self, frames: list[str]) -> None:
        for frame in frames:
            self._outbox.put_nowait(frame)

    def _send_get_snapshot(self, sub: Subscription, markets: tuple[str, ...]) -> None:
        self.stats.snapshot_requests += 1
        self._send(self._subs.get_snapshot(sub, markets))

    @property
    def conn_id(self) -> int:
        return self._conn_id

    def subscription_seqs(self) -> dict[str, int | None]:
        """Return the last seq seen per channel (for the live table)."""
        return {sub.channel: self._seqs.last(sub.sid) for sub in self._subs.by_sid.values()}
