"""A connection's commands answered as Kalshi answers them (AsyncAPI 2.0.0).

``subscribe`` -> one ``subscribed`` per channel (then book snapshots, or ticker messages with
``send_initial_snapshot``); ``unsubscribe`` -> ``unsubscribed`` with the sid's next seq;
``update_subscription`` -> ``ok`` with the sid's next seq and the full ticker list (no list
with ``skip_ticker_ack``), or the snapshots of ``get_snapshot``; ``list_subscriptions`` ->
``ok`` with a list. A refusal is an ``error`` frame; one about an existing subscription
carries its sid, and the sid's next seq on a sequenced channel.

Limits (Kalshi documents the codes, not the numbers, so both are settings): a subscription
may hold at most ``max_markets_per_subscription`` markets (error 26), and a connection may
send ``rate`` commands a second with bursts of ``burst`` (error 27).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from kalshi_rl.kalshi import encode
from kalshi_rl.sim import protocol as proto
from kalshi_rl.sim.ledger import AckPayload
from kalshi_rl.sim.protocol import CommandError
from kalshi_rl.sim.session import Session, Subscription

logger = logging.getLogger(__name__)


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; ``rate`` 0 = unlimited."""

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        """Spend one token; return ``False`` when none is left."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class Commands:
    """Parses, checks and answers the commands of one ``Session``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.venue = session.venue
        rate, burst = self.venue.command_rate
        self._bucket = TokenBucket(rate, burst)

    def handle(self, text: str | bytes) -> None:
        """Answer one client frame."""
        counters = self.venue.counters
        counters.commands += 1
        try:
            command = proto.parse_command(text)
            if not self._bucket.take():
                counters.refusals += 1
                raise CommandError(27, "command rate limit", command.request_id, sid=_target_sid(command))
            getattr(self, "_cmd_" + command.name)(command)
        except CommandError as exc:
            counters.command_errors += 1
            self._refuse(exc)

    def _refuse(self, exc: CommandError) -> None:
        sub = self.session.subs.get(exc.sid) if exc.sid is not None else None
        seq = sub.next_seq() if sub is not None else None
        tickers = exc.market_tickers
        frame = encode.error_frame(
            exc.request_id,
            exc.code,
            exc.message,
            sub.sid if sub else None,
            seq,
            market_ticker=tickers[0] if len(tickers) == 1 else None,
            market_tickers=list(tickers) if len(tickers) > 1 else None,
        )
        self.session.ack(
            frame,
            AckPayload("error", exc.request_id, exc.code),
            sid=sub.sid if sub else None,
            seq=seq,
            channel=sub.channel if sub else None,
        )

    def _check_limit(self, markets: int, command: proto.Command, sid: int | None = None) -> None:
        limit = self.venue.max_markets_per_subscription
        if limit and markets > limit:
            self.venue.counters.refusals += 1
            raise CommandError(
                26, f"{markets} markets > {limit} per subscription", command.request_id, sid=sid
            )

    # -- the commands -------------------------------------------------------------------------

    def _cmd_subscribe(self, command: proto.Command) -> None:
        session, venue = self.session, self.venue
        request = proto.parse_subscribe(command, venue.markets, venue.market_ids)
        if request.markets is not None:
            self._check_limit(len(request.markets), command)
        yes_leg = venue.encoding.requested(request.use_yes_price)
        for channel in request.channels:
            sid = session.next_sid
            session.next_sid += 1
            markets = request.markets
            wanted = None if markets is None or channel == proto.LIFECYCLE else dict.fromkeys(markets)
            sub = Subscription(
                sid,
                channel,
                wanted,
                yes_leg=yes_leg and channel == proto.ORDERBOOK,
                skip_ack=request.skip_ticker_ack,
            )
            session.add(sub)
            session.ack(
                encode.subscribed_frame(command.request_id, channel, sid),
                AckPayload("subscribed", command.request_id),
                sid=sid,
                channel=channel,
            )
            self._initial(sub, list(wanted or ()), request.send_initial_snapshot)

    def _initial(self, sub: Subscription, tickers: list[str], send_initial_snapshot: bool) -> None:
        """Send what a new subscription (or its newly added markets) starts with."""
        if sub.channel == proto.ORDERBOOK:
            for ticker in tickers:
                self.session.snapshot(sub, ticker, None)
        elif sub.channel == proto.TICKER and send_initial_snapshot:
            for ticker in tickers:
                self.session.ticker_snapshot(sub, ticker)

    def _cmd_unsubscribe(self, command: proto.Command) -> None:
        for sid in proto.parse_sids(command):
            sub = self.session.remove(sid)
            if sub is None:
                raise CommandError(7, f"sid {sid}", command.request_id)
            sub.seq += 1  # on every channel: Kalshi's unsubscribed always carries a seq
            self.session.ack(
                encode.unsubscribed_frame(command.request_id, sid, sub.seq),
                AckPayload("unsubscribed", command.request_id),
                sid=sid,
                seq=sub.seq,
                channel=sub.channel,
            )

    def _cmd_update_subscription(self, command: proto.Command) -> None:
        session, venue = self.session, self.venue
        sid = proto.parse_update_sid(command)
        sub = session.subs.get(sid)
        if sub is None:
            raise CommandError(7, f"sid {sid}", command.request_id)
        ids = venue.market_ids if sub.channel == proto.TICKER else None
        known: Collection[str] = venue.markets
        if command.params.get("action") == "delete_markets" and sub.markets:
            # a market the exchange has forgotten since (settled long ago) can still be removed
            known = {**dict.fromkeys(venue.markets), **sub.markets}
        request = proto.parse_update(command, sid, known, ids)
        if sub.channel == proto.LIFECYCLE or (
            request.action == "get_snapshot" and sub.channel != proto.ORDERBOOK
        ):
            raise CommandError(13, f"{request.action} on {sub.channel}", command.request_id, sid=sid)
        if request.action == "get_snapshot":
            self._get_snapshot(command, sub, request.markets)
            return
        if sub.markets is None:
            if request.action == "delete_markets":
                raise CommandError(11, f"sid {sub.sid} covers every market", command.request_id, sid=sid)
            added: list[str] = []
        elif request.action == "add_markets":
            added = [m for m in request.markets if m not in sub.markets]
            self._check_limit(len(sub.markets) + len(added), command, sid)
            sub.markets.update(dict.fromkeys(added))
        else:
            added = []
            for ticker in request.markets:
                sub.markets.pop(ticker, None)
        tickers = list(venue.markets) if sub.markets is None else list(sub.markets)
        sub.seq += 1
        session.ack(
            encode.ok_frame(command.request_id, sub.sid, sub.seq, None if sub.skip_ack else tickers),
            AckPayload("ok", command.request_id, market_tickers=tuple(tickers)),
            sid=sub.sid,
            seq=sub.seq,
            channel=sub.channel,
        )
        self._initial(sub, added, request.send_initial_snapshot)

    def _get_snapshot(self, command: proto.Command, sub: Subscription, markets: tuple[str, ...]) -> None:
        session = self.session
        missing = [m for m in markets if sub.markets is not None and m not in sub.markets]
        if missing:
            raise CommandError(
                11,
                f"not in sid {sub.sid}: {', '.join(missing)}",
                command.request_id,
                sid=sub.sid,
                market_tickers=tuple(missing),
            )
        if session.fault_state.on_snapshot_request():
            self.venue.counters.snapshot_replies_dropped += 1
            logger.info("connection %d: leaving get_snapshot %s unanswered", session.conn, markets)
            return
        for ticker in markets:
            session.snapshot(sub, ticker, command.request_id)

    def _cmd_list_subscriptions(self, command: proto.Command) -> None:
        listing = [{"channel": sub.channel, "sid": sub.sid} for sub in self.session.subs.values()]
        self.session.ack(
            encode.list_subscriptions_frame(command.request_id, listing),
            AckPayload("list_subscriptions", command.request_id),
        )


def _target_sid(command: proto.Command) -> int | None:
    """Return the sid an ``update_subscription`` names, if it names one validly."""
    if command.name != "update_subscription":
        return None
    sid = command.params.get("sid")
    sids = command.params.get("sids")
    if sid is None and isinstance(sids, list) and len(sids) == 1:
        sid = sids[0]
    return sid if type(sid) is int else None
