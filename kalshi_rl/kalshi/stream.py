"""``FeedStream``: the client's protocol state machine, frames in, events and commands out.

Each frame is read envelope first (``type``, ``sid``, ``seq``), and its seq is checked and
counted **before** its body is parsed: a frame of a type we do not know, or whose body is
malformed, still takes its place in the sequence (it is quarantined with its reason after), so
it never causes a false gap. Only a frame whose JSON or envelope cannot be read leaves its place
unknown; the next frame of its sid then shows the gap, which breaks that sid's books.

A book frame that could not be read, or one that makes a book crossed (best YES bid + best NO
bid >= $1, impossible on Kalshi's book), means that book can no longer be trusted: it is
reported (``FeedBreak``) and a fresh snapshot asked for. A crossed snapshot that is *not*
crossed when its NO side is read in the other price encoding means the subscription does not
speak the encoding we asked for (``use_yes_price``, whose default Kalshi will flip): the
subscription's expected encoding is switched, later subscriptions ask for it explicitly, and
every book of the sid is resynced. Limitation: a one-sided book, or one whose two sides are
far from each other, is not crossed in either encoding and cannot reveal a mirrored NO side.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kalshi_rl.core.errors import FrameError
from kalshi_rl.core.events import BookDelta, BookSnapshot, Level
from kalshi_rl.core.units import PRICE_SCALE, format_price
from kalshi_rl.kalshi import subscription_changes
from kalshi_rl.kalshi.feed import FeedBreak, FeedHandler
from kalshi_rl.kalshi.messages import (
    DELTA,
    SNAPSHOT,
    ErrorReply,
    ListSubscriptions,
    Message,
    Ok,
    Subscribed,
    Unsubscribed,
    decode_frame,
    parse_body,
    read_envelope,
)
from kalshi_rl.kalshi.sequence import SequenceTracker, SeqVerdict
from kalshi_rl.kalshi.subscriptions import ORDERBOOK, Refusal, Subscription, Subscriptions
from kalshi_rl.kalshi.ws_config import WsConfig, WsStats

logger = logging.getLogger(__name__)

CONTROL_TYPES = frozenset({"subscribed", "unsubscribed", "ok", "error", "list_subscriptions"})


def crossed(yes_bids: tuple[Level, ...], no_bids: tuple[Level, ...]) -> bool:
    """Whether the best YES bid and the best NO bid add up to $1 or more (they would trade)."""
    return bool(yes_bids and no_bids) and max(yes_bids)[0] + max(no_bids)[0] >= PRICE_SCALE


def mirrored(levels: tuple[Level, ...]) -> tuple[Level, ...]:
    """NO levels read in the other encoding (``q`` <-> ``1 - q``; its own inverse)."""
    return tuple((PRICE_SCALE - price, size) for price, size in levels)


class FeedStream:
    """Sequence, dispatch, refusals and resyncs of one client; see the module docstring."""

    def __init__(
        self,
        config: WsConfig,
        handler: FeedHandler,
        stats: WsStats,
        send: Callable[[str], None],
        on_working: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.handler = handler
        self.stats = stats
        self._send = send
        self._on_working = on_working
        self.subs = Subscriptions(
            config.channels,
            config.market_tickers,
            config.use_yes_price,
            config.reconnect_initial_s,
            config.reconnect_max_s,
        )
        self.stats.unsubscribable = self.subs.unsubscribable
        self.seqs = SequenceTracker()
        self.resync_deadline: dict[str, float] = {}  # market -> monotonic deadline
        self.conn_id = 0
        self.last_recv_ns = 0
        self._working = False  # has the current connection been fully subscribed?
        self._yes_price_sids: set[int] = set()
        self._timers: list[asyncio.TimerHandle] = []

    # -- connections ----------------------------------------------------------------------

    def open_connection(self) -> list[str]:
        """A new connection: all subscription state starts over; return its subscribe commands."""
        self.subs.clear()
        self.seqs.clear()
        self._yes_price_sids.clear()
        self._working = False
        self.resync_deadline.clear()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.conn_id += 1
        self.stats.connects += 1
        if self.stats.connects > 1:
            self.stats.reconnects += 1
        self.handler.on_connected(self.conn_id)
        return self.subs.subscribe_all()

    def close_connection(self, recv_ns: int, detail: str) -> None:
        markets = self.subs.wanted.get(ORDERBOOK, self.config.market_tickers)
        self.handler.on_break(FeedBreak("disconnect", ORDERBOOK, None, markets, recv_ns, detail=detail))

    # -- frames ---------------------------------------------------------------------------

    def feed(self, data: str | bytes, recv_ns: int) -> None:
        """Parse and dispatch one frame received at ``recv_ns``."""
        recv_ns = self.last_recv_ns = max(self.last_recv_ns, recv_ns)
        raw = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self.stats.frames += 1
        try:
            frame = decode_frame(raw)
            kind, sid, seq = read_envelope(frame)
        except FrameError as exc:
            self.handler.on_quarantine(raw, recv_ns, exc.reason, exc.market_ticker)
            return
        if (
            sid is not None
            and seq is not None
            and not (kind == DELTA and self.seqs.advance(sid, seq))  # the common case
            and kind != "subscribed"
            and not self._check_seq(kind, sid, seq, raw, recv_ns)
        ):
            return
        try:
            message = parse_body(kind, frame, recv_ns, sid in self._yes_price_sids)
        except FrameError as exc:
            self._unreadable(kind, sid, raw, recv_ns, exc)
            return
        if type(message) is BookDelta:
            self.handler.on_event(message, raw)
            return
        self._dispatch(message, raw, recv_ns)

    def _check_seq(self, kind: str | None, sid: int, seq: int, raw: str, recv_ns: int) -> bool:
        """Advance the sid's sequence; report gaps. Return False to drop the frame."""
        sub = self.subs.by_sid.get(sid)
        if sub is None:
            if sid in self.subs.retired:  # still in flight when we unsubscribed
                self.handler.on_control(raw, recv_ns, "retired_sid")
            else:
                self.handler.on_quarantine(raw, recv_ns, f"message for unknown sid {sid}", None)
            return False
        check = self.seqs.observe(sid, seq, kind == SNAPSHOT)
        if check.verdict is SeqVerdict.IN_ORDER or check.verdict is SeqVerdict.RESNAPSHOT:
            return True
        if check.verdict is SeqVerdict.STALE:
            reason = f"seq {seq} for sid {sid} is not after {self.seqs.last(sid)} (duplicate or reordered)"
            self.handler.on_quarantine(raw, recv_ns, reason, None)
            return False
        self.stats.gaps += 1
        logger.warning("expected seq %d for sid %d (%s), got %d", check.expected, sid, sub.channel, seq)
        self.handler.on_break(FeedBreak("gap", sub.channel, sid, sub.markets, recv_ns, check.expected, seq))
        if sub.channel == ORDERBOOK:
            self._request_snapshots(sub, sub.markets)
        return True

    def _unreadable(self, kind: str | None, sid: int | None, raw: str, recv_ns: int, exc: FrameError) -> None:
        """Quarantine a frame whose seq was counted but whose body could not be read."""
        self.handler.on_quarantine(raw, recv_ns, exc.reason, exc.market_ticker)
        sub = self.subs.by_sid.get(sid) if sid is not None else None
        if sub is None or sub.channel != ORDERBOOK or kind in CONTROL_TYPES:
            return
        # A book change we could not read (or a message we do not know) on the book's sid: the
        # book(s) it may concern are no longer known.
        market = exc.market_ticker
        markets = (market,) if market in sub.markets else sub.markets
        self.handler.on_break(FeedBreak("unreadable", ORDERBOOK, sid, markets, recv_ns, detail=exc.reason))
        self._request_snapshots(sub, markets)

    def _dispatch(self, message: Message, raw: str, recv_ns: int) -> None:
        if isinstance(message, Subscribed):
            self.adopt(message)
            self.handler.on_control(raw, recv_ns)
            return
        if isinstance(message, (ErrorReply, Unsubscribed, Ok, ListSubscriptions)):
            self.handler.on_control(raw, recv_ns)
            if isinstance(message, ErrorReply):
                self._on_error(message, recv_ns)
            elif isinstance(message, Unsubscribed):
                if self.subs.on_unsubscribed(message.sid):
                    self._forget(message.sid)
            elif isinstance(message, Ok):
                self.subs.on_ok(message)
            return
        if type(message) is BookSnapshot:
            if crossed(message.yes_bids, message.no_bids):
                self._crossed_snapshot(message, raw, recv_ns)
                return
            self.resync_deadline.pop(message.market_ticker, None)
        self.handler.on_event(message, raw)

    def _crossed_snapshot(self, snap: BookSnapshot, raw: str, recv_ns: int) -> None:
        """Never apply a crossed book; if the other encoding explains it, switch to that one."""
        market, sub = snap.market_ticker, self.subs.by_sid.get(snap.sid)
        yes, no = max(snap.yes_bids)[0], max(snap.no_bids)[0]
        if sub is not None and not crossed(snap.yes_bids, mirrored(snap.no_bids)):
            was, now = _ENCODING[sub.yes_price], _ENCODING[not sub.yes_price]
            detail = (
                f"snapshot of {market} crossed in {was} (YES bid {format_price(yes)} + NO bid "
                f"{format_price(no)} >= 1) but not in {now}: sid {sub.sid} speaks {now}; switched"
            )
            logger.warning("price encoding mismatch on sid %d: %s", sub.sid, detail)
            self.stats.encoding_mismatches += 1
            sub.yes_price = self.subs.ask_yes_price = not sub.yes_price
            (self._yes_price_sids.add if sub.yes_price else self._yes_price_sids.discard)(sub.sid)
            self.handler.on_quarantine(raw, recv_ns, f"encoding mismatch: {detail}", market)
            self.handler.on_break(
                FeedBreak("encoding_mismatch", ORDERBOOK, sub.sid, sub.markets, recv_ns, detail=detail)
            )
            for other in sub.markets:
                self.resync_deadline.pop(other, None)  # every book of the sid is re-asked, now
            self._request_snapshots(sub, sub.markets)
            for twin in self.subs.of_channel(ORDERBOOK):
                if twin.yes_price != sub.yes_price:  # expects what this sid was found not to speak:
                    self._request_snapshots(twin, twin.markets)  # its snapshots get checked too
            return
        detail = f"crossed snapshot: YES bid {format_price(yes)} + NO bid {format_price(no)} >= 1"
        self.handler.on_quarantine(raw, recv_ns, detail, market)
        self.handler.on_break(FeedBreak("crossed", ORDERBOOK, snap.sid, (market,), recv_ns, detail=detail))
        # No immediate re-request (an exchange that keeps sending it would loop): the watchdog
        # resubscribes if no good snapshot comes in time.
        self.resync_deadline.setdefault(market, time.monotonic() + self.config.resync_timeout_s)

    # -- subscriptions --------------------------------------------------------------------

    def adopt(self, reply: Subscribed) -> None:
        """Take the sid a ``subscribed`` reply (or a recording) gives."""
        sub = self.subs.on_subscribed(reply)
        if sub.yes_price:
            self._yes_price_sids.add(sub.sid)
        for command in subscription_changes.unwanted(self.subs, sub):  # removed while it was asked
            self._send(command)
        self._check_working()

    def add_markets(self, markets: tuple[str, ...]) -> tuple[str, ...]:
        """Subscribe ``markets`` on every filtered channel now and on every later connection;
        return the ones that were not wanted yet (see ``subscription_changes``)."""
        new, commands = subscription_changes.add_markets(self.subs, markets)
        for command in commands:
            self._send(command)
        return new

    def remove_markets(self, markets: tuple[str, ...]) -> tuple[str, ...]:
        """Unsubscribe ``markets`` (``delete_markets``) and stop asking for them; return the
        ones that were wanted."""
        removed, commands = subscription_changes.remove_markets(self.subs, markets)
        for market in removed:
            self.resync_deadline.pop(market, None)
        for command in commands:
            self._send(command)
        return removed

    def _check_working(self) -> None:
        if not self._working and self.subs.complete:
            # The connection works: every subscription was answered. Only now may the
            # reconnect backoff start over; a server that accepts the socket and drops it
            # before subscribing us (or refuses a channel) keeps the client backing off.
            self._working = True
            self._on_working()

    def _on_error(self, reply: ErrorReply, recv_ns: int) -> None:
        self.stats.errors[reply.code] = self.stats.errors.get(reply.code, 0) + 1
        self.stats.last_error = f"error {reply.code}: {reply.message}"
        logger.warning(
            "exchange error %d: %s (id %s, sid %s)", reply.code, reply.message, reply.id, reply.sid
        )
        refusal = self.subs.on_error(reply)
        if refusal is not None:
            self._on_refusal(reply.id or 0, refusal, recv_ns)
            return
        sub = self.subs.by_sid.get(reply.sid) if reply.sid is not None else None
        if reply.is_terminal and sub is not None:
            self.resubscribe(sub, f"terminal error {reply.code}: {reply.message}", recv_ns)

    def _on_refusal(self, request_id: int, refusal: Refusal, recv_ns: int) -> None:
        request = refusal.request
        for command in refusal.resend:
            self._send(command)
        if refusal.retry_after_s is not None:
            self.stats.retries += 1
            logger.warning(
                "%s refused (%s); retrying in %.2f s", request.action, refusal.reason, refusal.retry_after_s
            )
            self._later(refusal.retry_after_s, lambda: self._retry(request_id))
        if refusal.given_up:
            logger.error(
                "%s: can never be subscribed on %s (%s)",
                ", ".join(refusal.given_up),
                request.channel,
                refusal.reason,
            )
            self.handler.on_break(
                FeedBreak(
                    "unsubscribable", request.channel, None, refusal.given_up, recv_ns, detail=refusal.reason
                )
            )
        self._check_working()

    def _retry(self, request_id: int) -> None:
        command = self.subs.resend(request_id)
        if command is not None:
            self._send(command)

    def _later(self, delay_s: float, action: Callable[[], None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a recording fed outside an event loop: nothing to retry on
            return
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(loop.call_later(delay_s, action))

    def resubscribe(self, sub: Subscription, detail: str, recv_ns: int) -> None:
        """Drop ``sub`` and subscribe its markets again (new sid, fresh snapshots)."""
        self.stats.resubscribes += 1
        self.subs.retire(sub.sid)
        self._forget(sub.sid)  # late frames of the old sid must not pass the fast path
        self._send(self.subs.unsubscribe(sub.sid))
        self.handler.on_break(
            FeedBreak("resubscribe", sub.channel, sub.sid, sub.markets, recv_ns, detail=detail)
        )
        for market in sub.markets:
            self.resync_deadline.pop(market, None)
        for command in self.subs.subscribe((sub.channel,), sub.markets):
            self._send(command)

    def _forget(self, sid: int) -> None:
        self.seqs.forget(sid)
        self._yes_price_sids.discard(sid)

    # -- snapshots ------------------------------------------------------------------------

    def request_snapshot(self, market: str) -> None:
        """Ask for a fresh orderbook snapshot of ``market`` (after it became inconsistent)."""
        sub = self.subs.carrying(ORDERBOOK, market)
        if sub is None or market in self.resync_deadline:
            return  # a (re)subscription or an earlier request will bring the snapshot
        self._request_snapshots(sub, (market,))

    def _request_snapshots(self, sub: Subscription, markets: tuple[str, ...]) -> None:
        # Not the markets being deleted: the exchange refuses (11) a get_snapshot naming one.
        still = set(self.subs.wanted.get(sub.channel, ()))
        wanted = tuple(m for m in markets if m not in self.resync_deadline and m in still)
        if not wanted:
            return
        deadline = time.monotonic() + self.config.resync_timeout_s
        for market in wanted:
            self.resync_deadline[market] = deadline
        self.stats.snapshot_requests += 1
        self._send(self.subs.get_snapshot(sub, wanted))

    def check_resync_deadlines(self, now: float) -> None:
        """Resubscribe the book subscriptions whose requested snapshot did not come in time."""
        late = [market for market, deadline in self.resync_deadline.items() if deadline < now]
        if not late:
            return
        subs = {sub.sid: sub for m in late if (sub := self.subs.carrying(ORDERBOOK, m)) is not None}
        for market in late:
            self.resync_deadline.pop(market, None)
        for sub in subs.values():
            logger.warning("snapshot request timed out; resubscribing %s sid %d", ORDERBOOK, sub.sid)
            self.resubscribe(sub, "snapshot request timed out", time.time_ns())

    def subscription_seqs(self) -> dict[str, int | None]:
        """Return the last seq seen per channel (for the live table)."""
        return {sub.channel: self.seqs.last(sub.sid) for sub in self.subs.by_sid.values()}


_ENCODING = {False: "no-leg pricing", True: "yes-leg pricing (use_yes_price)"}
