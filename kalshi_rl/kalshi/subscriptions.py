"""``Subscriptions``: what the client has asked for on one connection and what it was given.

Kalshi numbers subscription ids (sids) per connection, so everything here but the request
ids starts over on every connection. The commands that change subscriptions are built here
too, each with a fresh request id, so a reply can be matched to its request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kalshi_rl.kalshi.encode import command
from kalshi_rl.kalshi.messages import Subscribed

ORDERBOOK = "orderbook_delta"
LIFECYCLE = "market_lifecycle_v2"


@dataclass
class Subscription:
    """One acknowledged sid: its channel and the markets it carries."""

    channel: str
    sid: int
    markets: tuple[str, ...]


class Subscriptions:
    """The subscriptions of the current connection; see the module docstring."""

    def __init__(self, channels: tuple[str, ...], markets: tuple[str, ...]) -> None:
        self.channels = channels
        self.markets = markets
        self.by_sid: dict[int, Subscription] = {}
        self.by_channel: dict[str, Subscription] = {}
        self.retired: set[int] = set()
        """Sids we unsubscribed from on this connection (their late frames are expected)."""
        self._requested: dict[int, tuple[str, tuple[str, ...]]] = {}  # id -> (channel, markets)
        self._next_id = 1

    def clear(self) -> None:
        """Forget every sid: a new connection starts."""
        self.by_sid.clear()
        self.by_channel.clear()
        self.retired.clear()
        self._requested.clear()

    @property
    def complete(self) -> bool:
        """Return whether every configured channel has an acknowledged sid."""
        return all(channel in self.by_channel for channel in self.channels)

    def take_id(self) -> int:
        """Return a request id never used by this client."""
        request_id = self._next_id
        self._next_id += 1
        return request_id

    def subscribe(self, channels: Iterable[str], markets: tuple[str, ...]) -> list[str]:
        """Return the ``subscribe`` commands for ``channels`` (one per channel)."""
        commands = []
        for channel in channels:
            request_id = self.take_id()
            self._requested[request_id] = (channel, markets)
            if channel == LIFECYCLE:  # the channel ignores market filters: it carries every market
                commands.append(command(request_id, "subscribe", channels=[channel]))
            else:
                commands.append(
                    command(request_id, "subscribe", channels=[channel], market_tickers=list(markets))
                )
        return commands

    def on_subscribed(self, reply: Subscribed) -> Subscription:
        """Record the sid a ``subscribed`` reply gives its channel."""
        _, markets = self._requested.pop(reply.id or 0, (reply.channel, self.markets))
        if reply.channel == LIFECYCLE:
            markets = self.markets
        sub = Subscription(reply.channel, reply.sid, markets)
        self.by_sid[reply.sid] = sub
        self.by_channel[reply.channel] = sub
        return sub

    def channels_of_request(self, request_id: int | None) -> tuple[str, ...]:
        """Return the channel a still unanswered ``subscribe`` asked for (or nothing)."""
        requested = self._requested.get(request_id or 0)
        return (requested[0],) if requested else ()

    def retire(self, channel: str) -> Subscription | None:
        """Stop using the sid of ``channel``; return it (``None`` if there was none)."""
        old = self.by_channel.pop(channel, None)
        if old is not None:
            self.by_sid.pop(old.sid, None)
            self.retired.add(old.sid)
        return old

    def on_unsubscribed(self, sid: int) -> bool:
        """Record that ``sid`` ended; return whether it was one of ours."""
        sub = self.by_sid.pop(sid, None)
        if sub is None:
            return False
        if self.by_channel.get(sub.channel) is sub:
            del self.by_channel[sub.channel]
        self.retired.add(sid)
        return True

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
