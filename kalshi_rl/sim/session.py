"""One client connection: its subscriptions, per-sid sequence numbers, encodings and faults.

Every frame for the connection, in order, goes to its ``Outbox`` (see ``outbox.py``); the
commands it sends are answered by ``commands.Commands``, built on top of this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Protocol

from websockets.asyncio.server import ServerConnection

from kalshi_rl.core.events import Side
from kalshi_rl.kalshi import encode
from kalshi_rl.sim import protocol as proto
from kalshi_rl.sim.encoding import PriceEncoding
from kalshi_rl.sim.faults import FaultConfig, FaultState, malformed_frame
from kalshi_rl.sim.frames import TICKER_TYPE, stamp
from kalshi_rl.sim.ledger import (
    AckPayload,
    Kind,
    Ledger,
    MalformedPayload,
    Payload,
    SimCounters,
    SnapshotPayload,
    TickerPayload,
)
from kalshi_rl.sim.market import SimMarket
from kalshi_rl.sim.outbox import Outbox

logger = logging.getLogger(__name__)

_FOREIGN = ("KXSIM-NOTSUBSCRIBED", "00000000-0000-4000-8000-00000000dead")


class Venue(Protocol):
    """What a session needs from the exchange."""

    @property
    def markets(self) -> Mapping[str, SimMarket]: ...
    @property
    def market_ids(self) -> Mapping[str, str]: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def counters(self) -> SimCounters: ...
    @property
    def encoding(self) -> PriceEncoding: ...
    @property
    def max_markets_per_subscription(self) -> int: ...
    @property
    def command_rate(self) -> tuple[float, int]: ...
    def ticker_body(self, market: SimMarket, ts_ms: int) -> tuple[encode.TickerValues, str]: ...
    def on_subscriptions_changed(self) -> None: ...


class Subscription:
    """One sid of a connection; ``markets`` is ``None`` when it covers every market.

    ``yes_leg`` is the book encoding the subscription asked for (``use_yes_price``, or the
    exchange's forced one); ``PriceEncoding.effective`` says what it gets now.
    """

    __slots__ = ("channel", "markets", "seq", "sequenced", "sid", "skip_ack", "yes_leg")

    def __init__(
        self,
        sid: int,
        channel: str,
        markets: dict[str, None] | None,
        yes_leg: bool = False,
        skip_ack: bool = False,
    ) -> None:
        self.sid = sid
        self.channel = channel
        self.markets = markets
        self.seq = 0
        self.sequenced = channel not in proto.UNSEQUENCED
        self.yes_leg = yes_leg
        self.skip_ack = skip_ack

    def next_seq(self) -> int | None:
        """Consume the next seq on a sequenced channel (``None`` on the ticker channel)."""
        if not self.sequenced:
            return None
        self.seq += 1
        return self.seq


class Session:
    """The exchange's side of one WebSocket connection."""

    def __init__(
        self,
        conn: int,
        ws: ServerConnection,
        venue: Venue,
        faults: FaultConfig,
        max_outbox_frames: int,
    ) -> None:
        self.conn = conn
        self.ws = ws
        self.venue = venue
        self.faults = faults
        self.max_outbox_frames = max_outbox_frames
        self.subs: dict[int, Subscription] = {}
        self.outbox = Outbox(conn, ws, venue.counters, faults.stall_seconds)
        self._sub_list: list[Subscription] = []
        self._fault_state = FaultState(faults)
        self.next_sid = 1
        venue.ledger.open(conn)

    @property
    def fault_state(self) -> FaultState:
        return self._fault_state

    # -- subscriptions ------------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        self.subs[sub.sid] = sub
        self._changed()

    def remove(self, sid: int) -> Subscription | None:
        sub = self.subs.pop(sid, None)
        if sub is not None:
            self._changed()
        return sub

    def _changed(self) -> None:
        self._sub_list = list(self.subs.values())
        self.venue.on_subscriptions_changed()

    def listens(self, channel: str, yes_leg: bool | None = None) -> bool:
        """Return whether a subscription of ``channel`` exists (with that effective encoding)."""
        encoding = self.venue.encoding
        return any(
            s.channel == channel and (yes_leg is None or encoding.effective(s.yes_leg) is yes_leg)
            for s in self._sub_list
        )

    # -- data ---------------------------------------------------------------------------------

    def deliver(
        self,
        channel: str,
        frame_type: str,
        ticker: str,
        kind: Kind,
        payload: Payload,
        body: str,
        yes_body: str | None = None,
    ) -> None:
        """Send one event to every matching subscription of this connection.

        ``yes_body`` is the body in the ``use_yes_price: true`` encoding when it differs
        (a NO-side book change); subscriptions that get that encoding are sent it, and their
        book messages are recorded as ``yes_leg``.
        """
        flipped = self.venue.encoding.flipped
        book = channel == proto.ORDERBOOK
        for sub in self._sub_list:
            if sub.channel != channel:
                continue
            markets = sub.markets
            if markets is not None and ticker not in markets:
                continue
            yes_leg = book and sub.yes_leg is not flipped  # PriceEncoding.effective, inlined
            seq = sub.next_seq()
            frame = stamp(frame_type, sub.sid, seq, yes_body if yes_leg and yes_body is not None else body)
            self._data(sub, kind, ticker, payload, frame, False, yes_leg)

    def snapshot(self, sub: Subscription, ticker: str, request_id: int | None) -> None:
        """Send ``sub`` a book snapshot of ``ticker`` in its current encoding."""
        market = self.venue.markets[ticker]
        yes_bids, no_bids = market.book.snapshot()
        yes_leg = self.venue.encoding.effective(sub.yes_leg)
        sub.seq += 1
        frame = encode.snapshot_frame(
            sub.sid,
            sub.seq,
            ticker,
            market.market_id,
            list(yes_bids),
            list(no_bids),
            request_id,
            yes_leg=yes_leg,
        )
        payload = SnapshotPayload(yes_bids, no_bids, request_id)
        self._data(sub, "snapshot", ticker, payload, frame, True, yes_leg)

    def push_snapshot(self, ticker: str) -> None:
        """Send ``ticker``'s snapshot, unasked, to every book subscription holding it (at the close)."""
        for sub in list(self._sub_list):
            if sub.channel == proto.ORDERBOOK and sub.markets is not None and ticker in sub.markets:
                self.snapshot(sub, ticker, None)

    def ticker_snapshot(self, sub: Subscription, ticker: str) -> None:
        """Send ``sub`` the current ``ticker`` message of ``ticker`` (``send_initial_snapshot``)."""
        market = self.venue.markets[ticker]
        values, body = self.venue.ticker_body(market, time.time_ns() // 1_000_000)
        frame = stamp(TICKER_TYPE, sub.sid, None, body)
        self._data(sub, "ticker", ticker, TickerPayload(values), frame, False)

    def _data(
        self,
        sub: Subscription,
        kind: Kind,
        ticker: str,
        payload: Payload,
        frame: str,
        is_snapshot: bool,
        yes_leg: bool = False,
    ) -> None:
        if self.subs.get(sub.sid) is not sub:
            return  # ended by an overflow while this event was being delivered
        venue = self.venue
        seq = sub.seq if sub.sequenced else None
        entry = venue.ledger.record(self.conn, sub.sid, seq, sub.channel, kind, ticker, payload)
        if entry is not None and yes_leg:
            entry.yes_leg = True
        if not sub.sequenced:  # faults count and break sequenced messages only
            if self.outbox.put(frame, entry) > self.max_outbox_frames:
                self._overflow()
            return
        decision = self._fault_state.on_data(is_snapshot)
        if decision.lost:
            venue.counters.messages_lost += 1
            if entry is not None:
                entry.original_kind, entry.kind = kind, "lost"
            if decision.after:
                self.outbox.put(None, None, decision.after)
        elif self.outbox.put(frame, entry, decision.after) > self.max_outbox_frames:
            self._overflow()
            return
        if decision.malformed:
            self._malformed(sub)
        if decision.error:
            self._subscription_error(sub)

    def ack(
        self,
        frame: str,
        payload: AckPayload,
        sid: int | None = None,
        seq: int | None = None,
        channel: str | None = None,
    ) -> None:
        """Queue a command reply (recorded as an ``ack`` in the ledger)."""
        entry = self.venue.ledger.record(self.conn, sid, seq, channel, "ack", None, payload)
        self.outbox.put(frame, entry)

    # -- faults -------------------------------------------------------------------------------

    def _malformed(self, trigger: Subscription) -> None:
        sub = next((s for s in self._sub_list if s.channel == proto.ORDERBOOK), trigger)
        markets = self.venue.markets
        # a market of the subscription the exchange still holds, trading if one is (a rolling
        # series forgets settled markets a subscription may still name)
        own = [t for t in sub.markets if t in markets] if sub.markets else list(markets)
        if not own:
            return
        market = next((markets[t] for t in own if markets[t].trading), markets[own[0]])
        foreign_tickers = [t for t in markets if t not in own]
        foreign = (foreign_tickers[0], markets[foreign_tickers[0]].market_id) if foreign_tickers else _FOREIGN
        best_yes = market.book.best_level(Side.YES)
        best_no = market.book.best_level(Side.NO)
        best = (Side.YES, best_yes) if best_yes else (Side.NO, best_no) if best_no else None
        variant = self._fault_state.next_variant()
        sub.seq += 1
        text = malformed_frame(
            variant,
            sub.sid,
            sub.seq,
            (market.ticker, market.market_id),
            best,
            foreign,
            time.time_ns() // 1_000_000,
        )
        entry = self.venue.ledger.record(
            self.conn,
            sub.sid,
            sub.seq,
            sub.channel,
            "malformed",
            foreign[0] if variant == "unsubscribed_market" else market.ticker,
            MalformedPayload(variant, text),
        )
        self.venue.counters.malformed_sent += 1
        self.outbox.put(text, entry)

    def _overflow(self) -> None:
        """Kalshi's error 25: the subscriptions end and the client must resubscribe."""
        logger.warning(
            "connection %d: outbox over %d frames; ending its subscriptions",
            self.conn,
            self.max_outbox_frames,
        )
        self.venue.counters.overflows += 1
        self.outbox.clear()
        for sub in list(self.subs.values()):
            self._end(sub, 25)

    def _subscription_error(self, trigger: Subscription) -> None:
        """Fault ``error_every``: end the book subscription (else ``trigger``) with a terminal error."""
        sub = next((s for s in self._sub_list if s.channel == proto.ORDERBOOK), trigger)
        if self.subs.get(sub.sid) is not sub:
            return  # already ended
        code = self.faults.error_code
        logger.info("connection %d: ending sid %d with error %d (fault injection)", self.conn, sub.sid, code)
        self.venue.counters.subscription_errors += 1
        self._end(sub, code)

    def _end(self, sub: Subscription, code: int) -> None:
        """End ``sub`` with terminal error ``code``: an error frame with its sid (and seq), then silence."""
        self.remove(sub.sid)
        seq = sub.next_seq()
        self.ack(
            encode.error_frame(None, code, proto.ERROR_MESSAGES[code], sid=sub.sid, seq=seq),
            AckPayload("error", None, code),
            sid=sub.sid,
            seq=seq,
            channel=sub.channel,
        )
