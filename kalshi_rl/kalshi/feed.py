"""What the WebSocket client reports to its consumer: the ``FeedHandler`` interface.

The handler receives every frame, already parsed, and every break in the stream
(``FeedBreak``); the collector's ``OrderbookClient`` is the main implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kalshi_rl.kalshi.messages import Event


@dataclass(frozen=True)
class FeedBreak:
    """The stream of ``channel`` on ``sid`` can no longer be trusted for ``markets``."""

    # "gap", "resubscribe", "disconnect" (the stream); "unreadable", "crossed",
    # "encoding_mismatch" (book frames that cannot be trusted); "unsubscribable" (the exchange
    # refused ``markets`` for good: ``detail`` says why)
    reason: str
    channel: str
    sid: int | None
    markets: tuple[str, ...]
    recv_ns: int
    expected_seq: int | None = None
    got_seq: int | None = None
    detail: str = ""


class FeedHandler(Protocol):
    """Receives everything the client reads, synchronously on the event loop.

    Every frame reaches exactly one of ``on_event``, ``on_control`` or ``on_quarantine``, so
    the handler can account for each one.
    """

    def on_connected(self, conn_id: int) -> None: ...
    def on_event(self, event: Event, raw: str) -> None: ...
    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None: ...
    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None: ...
    def on_break(self, feed_break: FeedBreak) -> None: ...
