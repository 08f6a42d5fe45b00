"""One client connection: its commands, subscriptions, per-sid sequence numbers and faults.

Every frame for the connection, in order, goes to its ``Outbox`` (see ``outbox.py``).
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
from kalshi_rl.sim.faults import FaultConfig, FaultState, malformed_frame
from kalshi_rl.sim.frames import list_subscriptions_frame, stamp
from kalshi_rl.sim.ledger import (
    AckPayload,
    Kind,
    Ledger,
    MalformedPayload,
    Payload,
    SimCounters,
    SnapshotPayload,
)
from kalshi_rl.sim.market import SimMarket
from kalshi_rl.sim.outbox import Outbox
from kalshi_rl.sim.protocol import CommandError

logger = logging.getLogger(__name__)

_FOREIGN = ("KXSIM-NOTSUBSCRIBED", "00000000-0000-4000-8000-00000000dead")


class Venue(Protocol):
    """What a session needs from the exchange."""

    @property
    def markets(self) -> Mapping[str, SimMarket]: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def counters(self) -> SimCounters: ...


class Subscription:
    """One sid of a connection; ``markets`` is ``None`` when it covers every market."""

    __slots__ = ("channel", "markets", "seq", "sid")

    def __init__(self, sid: int, channel: str, markets: dict[str, None] | None) -> None:
        self.sid = sid
        self.channel = channel
        self.markets = markets
        self.seq = 0


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
        self._next_sid = 1
        self._fault_state = FaultState(faults)
        venue.ledger.open(conn)

    # -- commands -----------------------------------------------------------------------------

    def handle(self, text: str | bytes) -> None:
        """Answer one client frame."""
        self.venue.counters.commands += 1
        try:
            command = proto.parse_command(text)
            handler = getattr(self, "_cmd_" + command.name)
            handler(command)
        except CommandError as exc:
            self.venue.counters.command_errors += 1
            self._ack(
                encode.error_frame(exc.request_id, exc.code, exc.message),
                AckPayload("error", exc.request_id, exc.code),
            )

    def _cmd_subscribe(self, command: proto.Command) -> None:
        channels, markets = proto.parse_subscribe(command, self.venue.markets)
        for channel in channels:
            sid = self._next_sid
            self._next_sid += 1
            wanted = None if markets is None or channel == proto.LIFECYCLE else dict.fromkeys(markets)
            sub = Subscription(sid, channel, wanted)
            self.subs[sid] = sub
            self._sub_list = list(self.subs.values())
            self._ack(
                encode.subscribed_frame(command.request_id, channel, sid),
                AckPayload("subscribed", command.request_id),
                sid=sid,
                channel=channel,
            )
            if channel == proto.ORDERBOOK and wanted:
                for ticker in wanted:
                    self._snapshot(sub, ticker, None)

    def _cmd_unsubscribe(self, command: proto.Command) -> None:
        for sid in proto.parse_sids(command):
            sub = self.subs.pop(sid, None)
            if sub is None:
                raise CommandError(7, f"sid {sid}", command.request_id)
            self._sub_list = list(self.subs.values())
            sub.seq += 1
            self._ack(
                encode.unsubscribed_frame(command.request_id, sid, sub.seq),
                AckPayload("unsubscribed", command.request_id),
                sid=sid,
                seq=sub.seq,
                channel=sub.channel,
            )

    def _cmd_update_subscription(self, command: proto.Command) -> None:
        request = proto.parse_update(command, self.venue.markets)
        sub = self.subs.get(request.sid)
        if sub is None:
            raise CommandError(7, f"sid {request.sid}", command.request_id)
        if sub.channel == proto.LIFECYCLE or (
            request.action == "get_snapshot" and sub.channel != proto.ORDERBOOK
        ):
            raise CommandError(13, f"{request.action} on {sub.channel}", command.request_id)
        if request.action == "get_snapshot":
            missing = [m for m in request.markets if sub.markets is not None and m not in sub.markets]
            if missing:
                raise CommandError(11, f"not in sid {sub.sid}: {', '.join(missing)}", command.request_id)
            if self._fault_state.on_snapshot_request():
                self.venue.counters.snapshot_replies_dropped += 1
                logger.info("connection %d: leaving get_snapshot %s unanswered", self.conn, request.markets)
                return
            for ticker in request.markets:
                self._snapshot(sub, ticker, command.request_id)
            return
        if sub.markets is None:
            if request.action == "delete_markets":
                raise CommandError(11, f"sid {sub.sid} covers every market", command.request_id)
            added: list[str] = []
        elif request.action == "add_markets":
            added = [m for m in request.markets if m not in sub.markets]
            sub.markets.update(dict.fromkeys(added))
        else:
            added = []
            for ticker in request.markets:
                sub.markets.pop(ticker, None)
        tickers = list(self.venue.markets) if sub.markets is None else list(sub.markets)
        sub.seq += 1
        self._ack(
            encode.ok_frame(command.request_id, sub.sid, sub.seq, tickers),
            AckPayload("ok", command.request_id, market_tickers=tuple(tickers)),
            sid=sub.sid,
            seq=sub.seq,
            channel=sub.channel,
        )
        if sub.channel == proto.ORDERBOOK:
            for ticker in added:
                self._snapshot(sub, ticker, None)

    def _cmd_list_subscriptions(self, command: proto.Command) -> None:
        listing = [{"channel": sub.channel, "sid": sub.sid} for sub in self.subs.values()]
        self._ack(
            list_subscriptions_frame(command.request_id, listing),
            AckPayload("list_subscriptions", command.request_id),
        )

    # -- data ---------------------------------------------------------------------------------

    def deliver(
        self, channel: str, frame_type: str, ticker: str, kind: Kind, payload: Payload, body: str
    ) -> None:
        """Send one event to every matching subscription of this connection."""
        for sub in self._sub_list:
            if sub.channel != channel:
                continue
            markets = sub.markets
            if markets is not None and ticker not in markets:
                continue
            sub.seq += 1
            self._data(sub, kind, ticker, payload, stamp(frame_type, sub.sid, sub.seq, body), False)

    def _snapshot(self, sub: Subscription, ticker: str, request_id: int | None) -> None:
        market = self.venue.markets[ticker]
        yes_bids, no_bids = market.book.snapshot()
        sub.seq += 1
        frame = encode.snapshot_frame(
            sub.sid, sub.seq, ticker, market.market_id, list(yes_bids), list(no_bids), request_id
        )
        self._data(sub, "snapshot", ticker, SnapshotPayload(yes_bids, no_bids, request_id), frame, True)

    def _data(
        self,
        sub: Subscription,
        kind: Kind,
        ticker: str,
        payload: Payload,
        frame: str,
        is_snapshot: bool,
    ) -> None:
        if self.subs.get(sub.sid) is not sub:
            return  # ended by an overflow while this event was being delivered
        venue = self.venue
        entry = venue.ledger.record(self.conn, sub.sid, sub.seq, sub.channel, kind, ticker, payload)
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

    def _ack(
        self,
        frame: str,
        payload: AckPayload,
        sid: int | None = None,
        seq: int | None = None,
        channel: str | None = None,
    ) -> None:
        entry = self.venue.ledger.record(self.conn, sid, seq, channel, "ack", None, payload)
        self.outbox.put(frame, entry)

    def _malformed(self, trigger: Subscription) -> None:
        sub = next((s for s in self._sub_list if s.channel == proto.ORDERBOOK), trigger)
        markets = self.venue.markets
        own = list(sub.markets) if sub.markets else list(markets)
        market = markets[own[0]]
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
        """End ``sub`` with terminal error ``code``: an error frame carrying its sid, then silence."""
        del self.subs[sub.sid]
        self._sub_list = list(self.subs.values())
        self._ack(
            encode.error_frame(None, code, proto.ERROR_MESSAGES[code], sid=sub.sid),
            AckPayload("error", None, code),
            sid=sub.sid,
            channel=sub.channel,
        )
