"""KalshiWsClient's recovery logic on a recorded stream (no socket): gaps, terminal errors."""

from __future__ import annotations

import json

from kalshi_rl.core.events import Side
from kalshi_rl.kalshi import encode
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


def sent(client: KalshiWsClient) -> list[dict[str, object]]:
    commands = []
    while not client._outbox.empty():
        commands.append(json.loads(client._outbox.get_nowait()))
    return commands


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
    (command,) = sent(client)
    assert command["cmd"] == "update_subscription"
    assert command["params"] == {"sids": [1], "market_tickers": ["KX-A", "KX-B"], "action": "get_snapshot"}
    assert client.stats.gaps == 1


async def test_a_duplicate_is_quarantined_not_applied() -> None:
    client, handler = start()
    client.feed(encode.delta_frame(1, 2, "KX-A", "a", Side.YES, 5000, 1, 0), 3)
    assert "duplicate or reordered" in handler.quarantined[0] and len(handler.events) == 2


async def test_terminal_errors_10_and_25_resubscribe_the_channel() -> None:
    for code in (10, 25):
        client, handler = start()
        client.feed(encode.error_frame(None, code, "Subscription buffer overflow", sid=1, seq=3), 3)
        commands = sent(client)
        assert [c["cmd"] for c in commands] == ["unsubscribe", "subscribe"]
        assert commands[0]["params"] == {"sids": [1]}
        assert commands[1]["params"] == {"channels": [ORDERBOOK], "market_tickers": ["KX-A", "KX-B"]}
        assert [b.reason for b in handler.breaks][-1] == "resubscribe"
        # Frames still in flight on the retired sid are set aside, not counted as malformed.
        client.feed(encode.delta_frame(1, 4, "KX-A", "a", Side.YES, 5000, 1, 0), 4)
        assert handler.control[-1] == "retired_sid" and not handler.quarantined


async def test_a_non_terminal_error_is_only_counted() -> None:
    client, _ = start()
    client.feed(encode.error_frame(7, 7, "Unknown subscription ID"), 3)
    assert sent(client) == [] and client.stats.errors == {7: 1}
