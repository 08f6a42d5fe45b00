"""KalshiWsClient's sequence checks on a recorded stream (``feed``, no socket), and its backoff.

Only what the client reports is read: the handler's calls and ``stats``. The commands the
client sends in reply (get_snapshot, unsubscribe, subscribe) are checked against the real
local exchange over a socket in ``tests/integration/test_ws_recovery.py``.
"""

from __future__ import annotations

import random

from kalshi_rl.core.events import Side
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.backoff import Backoff
from kalshi_rl.kalshi.ws_client import ORDERBOOK, FeedBreak, KalshiWsClient, WsConfig


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.breaks: list[FeedBreak] = []
        self.control: list[str] = []
        self.quarantined: list[str] = []

    def on_connected(self, conn_id: int) -> None:
        pass

    def on_event(self, event: object, raw: str) -> None:
        self.events.append(event)

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        self.control.append(kind)

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self.quarantined.append(reason)

    def on_break(self, feed_break: FeedBreak) -> None:
        self.breaks.append(feed_break)


def start() -> tuple[KalshiWsClient, Recorder]:
    handler = Recorder()
    client = KalshiWsClient(WsConfig(url="ws://unused", market_tickers=("KX-A", "KX-B")), handler)
    client.replay_connection({ORDERBOOK: 1, "trade": 2})
    client.feed(encode.snapshot_frame(1, 1, "KX-A", "a", [(5000, 100)], []), 1)
    client.feed(encode.snapshot_frame(1, 2, "KX-B", "b", [(4000, 100)], []), 2)
    return client, handler


async def test_a_gap_breaks_every_market_of_the_sid_and_asks_for_snapshots() -> None:
    client, handler = start()
    client.feed(encode.delta_frame(1, 5, "KX-A", "a", Side.YES, 5000, 1, 0), 3)
    (brk,) = [b for b in handler.breaks if b.reason == "gap"]
    assert (brk.sid, brk.expected_seq, brk.got_seq, brk.markets) == (1, 3, 5, ("KX-A", "KX-B"))
    assert (client.stats.gaps, client.stats.snapshot_requests) == (1, 1)  # one request, both markets


async def test_a_duplicate_is_quarantined_not_applied() -> None:
    client, handler = start()
    client.feed(encode.delta_frame(1, 2, "KX-A", "a", Side.YES, 5000, 1, 0), 3)
    assert "duplicate or reordered" in handler.quarantined[0] and len(handler.events) == 2


async def test_a_terminal_error_retires_the_sid_so_its_late_frames_are_set_aside() -> None:
    client, handler = start()
    client.feed(encode.error_frame(None, 25, "Subscription buffer overflow", sid=1), 3)
    assert (client.stats.resubscribes, client.stats.errors) == (1, {25: 1})
    (brk,) = handler.breaks
    assert (brk.reason, brk.sid, brk.markets) == ("resubscribe", 1, ("KX-A", "KX-B"))
    assert brk.detail == "terminal error 25: Subscription buffer overflow"
    # Frames still in flight on the retired sid are set aside, not counted as malformed.
    client.feed(encode.delta_frame(1, 4, "KX-A", "a", Side.YES, 5000, 1, 0), 4)
    assert handler.control[-1] == "retired_sid" and not handler.quarantined


async def test_a_non_terminal_error_is_only_counted() -> None:
    client, handler = start()
    client.feed(encode.error_frame(7, 7, "Unknown subscription ID"), 3)
    assert client.stats.errors == {7: 1} and client.stats.resubscribes == 0 and not handler.breaks


def test_backoff_doubles_per_failure_up_to_the_ceiling_and_starts_over_on_reset() -> None:
    backoff = Backoff(0.25, 30.0, random.Random(5))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(30.0, 0.25 * 2**n) for n in range(10)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.failures == 0 and 0.125 <= backoff.next_delay() <= 0.25


def test_backoff_stays_at_the_ceiling_after_weeks_of_failures() -> None:
    backoff = Backoff(0.25, 30.0, random.Random(5))
    for _ in range(5_000):  # 2**1024 does not fit a float: the exponent must be capped
        assert backoff.next_delay() <= 30.0
