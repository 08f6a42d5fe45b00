"""``Subscriptions``: what the client wants, what it asked for, and what it was given.

The wanted set (channel -> markets) outlives connections; everything else starts over on
each connection, because Kalshi numbers subscription ids (sids) per connection. A channel's
markets may be spread over several sids (a refusal with code 26 splits a request), and a
running subscription can gain or lose markets (``update_subscription`` ``add_markets`` /
``delete_markets``), so markets are looked up per sid, never assumed to be one per channel.

Every command gets a fresh request id and is remembered until answered, so a refusal can be
matched to its request and handled as its code means (AsyncAPI 2.0.0 error codes):

- 27 too many requests, 18 command timeout: the same request again after a backoff;
- 26 subscription market limit exceeded: the markets split in two requests (and later
  requests are cut to that size); a single market that still exceeds it is given up;
- 11 invalid parameter (and the retired 16, market not found): the markets the error names are
  given up, the others asked for again; without names the request is bisected until the
  refused market is alone;
- 8 unknown channel, 9 authentication required: the channel's markets are given up;
- anything else: retried a few times, then given up.

A given-up market is *unsubscribable* (with the reason) for the life of the client; the
client reports it, so its book is never silently empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kalshi_rl.kalshi.encode import command
from kalshi_rl.kalshi.replies import ErrorReply, Ok, Subscribed

ORDERBOOK = "orderbook_delta"
LIFECYCLE = "market_lifecycle_v2"
UNFILTERED = frozenset({LIFECYCLE})
"""Channels that refuse market filters and carry every market."""

RETRY_FOREVER = frozenset({18, 27})
INVALID_MARKET = frozenset({11, 16})
MARKET_LIMIT = 26
CHANNEL_REFUSED = frozenset({8, 9})
MAX_ATTEMPTS = 5
"""Attempts of a request refused with a code that says neither "wait" nor "never"."""


@dataclass
class Subscription:
    """One acknowledged sid: its channel, the markets it carries, its book price encoding."""

    channel: str
    sid: int
    markets: tuple[str, ...]
    yes_price: bool = False
    """Whether its NO-side book prices come in YES-leg pricing (``use_yes_price``)."""


@dataclass
class Request:
    """A command waiting for its reply (or for a retry)."""

    action: str  # subscribe | add_markets | delete_markets
    channel: str
    markets: tuple[str, ...]
    yes_price: bool = False
    sid: int | None = None
    attempts: int = 1


@dataclass
class Refusal:
    """What to do about a refused request: resend now, retry later, give markets up."""

    request: Request
    reason: str
    resend: list[str] = field(default_factory=list)
    retry_after_s: float | None = None
    given_up: tuple[str, ...] = ()


class Subscriptions:
    """The subscriptions of the client; see the module docstring."""

    def __init__(
        self,
        channels: tuple[str, ...],
        markets: tuple[str, ...],
        yes_price: bool = False,
        retry_initial_s: float = 0.25,
        retry_max_s: float = 30.0,
    ) -> None:
        self.wanted: dict[str, tuple[str, ...]] = dict.fromkeys(channels, markets)
        self.ask_yes_price = yes_price
        """The book encoding new subscriptions ask for (switched after an encoding mismatch)."""
        self.unsubscribable: dict[str, str] = {}
        """Market -> why it can never be subscribed (kept across connections)."""
        self.chunk_limit: int | None = None
        """Most markets one subscribe may name (learnt from code 26)."""
        self.by_sid: dict[int, Subscription] = {}
        self.retired: set[int] = set()
        """Sids we unsubscribed from on this connection (their late frames are expected)."""
        self.requests: dict[int, Request] = {}
        self._retry = (retry_initial_s, retry_max_s)
        self._next_id = 1

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.wanted)

    def clear(self) -> None:
        """Forget every sid and request: a new connection starts."""
        self.by_sid.clear()
        self.retired.clear()
        self.requests.clear()

    @property
    def complete(self) -> bool:
        """Whether every subscribe was answered or given up (none is waiting or retrying)."""
        return not any(r.action == "subscribe" for r in self.requests.values())

    def take_id(self) -> int:
        """Return a request id never used by this client."""
        request_id = self._next_id
        self._next_id += 1
        return request_id

    # -- lookups ------------------------------------------------------------------------

    def of_channel(self, channel: str) -> list[Subscription]:
        return [sub for sub in self.by_sid.values() if sub.channel == channel]

    def carrying(self, channel: str, market: str) -> Subscription | None:
        """The subscription of ``channel`` that carries ``market`` (``None`` if none)."""
        for sub in self.by_sid.values():
            if sub.channel == channel and (market in sub.markets or channel in UNFILTERED):
                return sub
        return None

    def channels_of_request(self, request_id: int | None) -> tuple[str, ...]:
        """Return the channel a still unanswered request asked for (or nothing)."""
        request = self.requests.get(request_id or 0)
        return (request.channel,) if request else ()

    # -- commands -----------------------------------------------------------------------

    def subscribe_all(self) -> list[str]:
        """Return the ``subscribe`` commands for everything wanted (a new connection)."""
        return [
            cmd for channel, markets in self.wanted.items() for cmd in self.subscribe((channel,), markets)
        ]

    def subscribe(self, channels: Iterable[str], markets: tuple[str, ...], attempts: int = 1) -> list[str]:
        """Return ``subscribe`` commands for ``channels`` (one per channel and chunk)."""
        commands = []
        for channel in channels:
            if channel in UNFILTERED:  # the channel ignores market filters: it carries every market
                commands.append(self._send(Request("subscribe", channel, (), attempts=attempts)))
                continue
            usable = tuple(m for m in markets if m not in self.unsubscribable)
            size = self.chunk_limit or len(usable) or 1
            for start in range(0, len(usable), size):
                chunk = usable[start : start + size]
                yes_price = self.ask_yes_price if channel == ORDERBOOK else False
                commands.append(
                    self._send(Request("subscribe", channel, chunk, yes_price, attempts=attempts))
                )
        return commands

    def resend(self, request_id: int) -> str | None:
        """Return the command of a request waiting for a retry (``None`` if it is gone)."""
        request = self.requests.pop(request_id, None)
        if request is None:
            return None
        request.attempts += 1
        return self._send(request)

    def _send(self, request: Request) -> str:
        request_id = self.take_id()
        self.requests[request_id] = request
        params: dict[str, object] = {}
        if request.action == "subscribe":
            params["channels"] = [request.channel]
            if request.channel == ORDERBOOK:
                params["use_yes_price"] = request.yes_price  # asked explicitly: the default will flip
        else:
            params.update(sids=[request.sid], action=request.action)
        if request.markets:
            params["market_tickers"] = list(request.markets)
        verb = "subscribe" if request.action == "subscribe" else "update_subscription"
        return command(request_id, verb, **params)

    def add_markets(self, sub: Subscription, markets: tuple[str, ...]) -> str:
        """Return the ``update_subscription`` adding ``markets`` to ``sub``."""
        return self._send(Request("add_markets", sub.channel, markets, sub.yes_price, sub.sid))

    def delete_markets(self, sub: Subscription, markets: tuple[str, ...]) -> str:
        """Return the ``update_subscription`` removing ``markets`` from ``sub``."""
        return self._send(Request("delete_markets", sub.channel, markets, sub.yes_price, sub.sid))

    def unsubscribe(self, sid: int) -> str:
        """Return the ``unsubscribe`` command for ``sid``."""
        return command(self.take_id(), "unsubscribe", sids=[sid])

    def get_snapshot(self, sub: Subscription, markets: tuple[str, ...]) -> str:
        """Return the ``update_subscription`` command asking ``sub`` for fresh snapshots."""
        return command(
            self.take_id(),
            "update_subscription",
            sids=[sub.sid],
            market_tickers=list(markets),
            action="get_snapshot",
        )

    # -- replies ------------------------------------------------------------------------

    def on_subscribed(self, reply: Subscribed) -> Subscription:
        """Record the sid a ``subscribed`` reply gives the request it answers."""
        request = self.requests.pop(reply.id or 0, None)
        if request is None or request.channel != reply.channel:
            request = self._pending_of(reply.channel)  # a reply without (or with a foreign) id
        if request is None:  # a recorded connection: the channel carries every wanted market
            request = Request(
                "subscribe", reply.channel, self.wanted.get(reply.channel, ()), self.ask_yes_price
            )
        markets = self.wanted.get(reply.channel, ()) if reply.channel in UNFILTERED else request.markets
        yes_price = request.yes_price if reply.channel == ORDERBOOK else False
        sub = Subscription(reply.channel, reply.sid, markets, yes_price)
        self.by_sid[reply.sid] = sub
        return sub

    def _pending_of(self, channel: str) -> Request | None:
        for request_id, request in self.requests.items():
            if request.action == "subscribe" and request.channel == channel:
                return self.requests.pop(request_id)
        return None

    def on_ok(self, reply: Ok) -> Subscription | None:
        """Record an ``ok`` to add_markets / delete_markets: the sid's markets after it."""
        request = self.requests.pop(reply.id or 0, None)
        if request is None or request.action not in ("add_markets", "delete_markets"):
            return None
        sub = self.by_sid.get(reply.sid if reply.sid is not None else request.sid or 0)
        if sub is None:
            return None
        if reply.market_tickers:  # Kalshi sends the full list (unless skip_ticker_ack)
            sub.markets = reply.market_tickers
        elif request.action == "add_markets":
            sub.markets = tuple(dict.fromkeys(sub.markets + request.markets))
        else:
            sub.markets = tuple(m for m in sub.markets if m not in request.markets)
        return sub

    def on_error(self, reply: ErrorReply) -> Refusal | None:
        """Decide what a refusal of one of our requests means (``None``: not a request's)."""
        request = self.requests.pop(reply.id or 0, None) if reply.id else None
        if request is None:
            return None
        reason = f"{request.channel} error {reply.code}: {reply.message}"
        markets = request.markets
        if request.action == "delete_markets":
            return Refusal(request, reason)  # nothing to give up: the markets stay subscribed
        if request.action == "add_markets" and reply.code == MARKET_LIMIT:
            return Refusal(request, reason, resend=self.subscribe((request.channel,), markets))
        if reply.code in RETRY_FOREVER or (reply.code not in _FINAL and request.attempts < MAX_ATTEMPTS):
            self.requests[reply.id or 0] = request  # kept (and counted pending) until resent
            return Refusal(request, reason, retry_after_s=self.retry_delay_s(request.attempts))
        if reply.code == MARKET_LIMIT and len(markets) > 1:
            half = (len(markets) + 1) // 2
            self.chunk_limit = min(self.chunk_limit or half, half)
            return Refusal(request, reason, resend=self._split(request, (markets[:half], markets[half:])))
        if reply.code in INVALID_MARKET and len(markets) > 1:
            named = tuple(m for m in reply.market_tickers if m in markets)
            if named:
                rest = tuple(m for m in markets if m not in named)
                return Refusal(
                    request, reason, self._split(request, (rest,)), given_up=self._give_up(named, reason)
                )
            half = (len(markets) + 1) // 2  # no name: bisect until the refused market is alone
            return Refusal(request, reason, resend=self._split(request, (markets[:half], markets[half:])))
        return Refusal(request, reason, given_up=self._give_up(markets, reason))

    def _split(self, request: Request, parts: Iterable[tuple[str, ...]]) -> list[str]:
        return [
            self._send(Request(request.action, request.channel, part, request.yes_price, request.sid))
            for part in parts
            if part
        ]

    def _give_up(self, markets: tuple[str, ...], reason: str) -> tuple[str, ...]:
        for market in markets:
            self.unsubscribable.setdefault(market, reason)
        return markets

    def retry_delay_s(self, attempts: int) -> float:
        """Exponential backoff of a retried command (no jitter: one client, one command)."""
        initial, ceiling = self._retry
        return min(ceiling, initial * 2 ** min(attempts - 1, 32))

    # -- endings ------------------------------------------------------------------------

    def retire(self, sid: int) -> Subscription | None:
        """Stop using ``sid``; return its subscription (``None`` if it was not ours)."""
        old = self.by_sid.pop(sid, None)
        if old is not None:
            self.retired.add(sid)
        return old

    def on_unsubscribed(self, sid: int) -> bool:
        """Record that ``sid`` ended; return whether it was one of ours."""
        return self.retire(sid) is not None


_FINAL = INVALID_MARKET | CHANNEL_REFUSED | {MARKET_LIMIT}
"""Codes whose meaning is known: never retried as they are."""
