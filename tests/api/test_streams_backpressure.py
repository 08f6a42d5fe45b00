"""Slow stream clients cost bounded memory and never slow the producers."""

from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import connect

from kalshi_rl.api.hubs import Hub

pytestmark = pytest.mark.slow


async def test_a_hub_drops_the_oldest_message_for_a_subscriber_that_does_not_read() -> None:
    hub = Hub(maxsize=8)
    slow = hub.subscribe()
    for i in range(10_000):
        hub.publish({"n": i})
    assert slow.qsize() == 8 and hub.dropped == 10_000 - 8
    assert [slow.get_nowait()["n"] for _ in range(8)] == list(range(9_992, 10_000))
    hub.unsubscribe(slow)
    hub.publish({"n": -1})
    assert hub.subscribers == 0


def test_the_book_stream_coalesces_for_a_slow_reader(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve(feed=True)
    market = svc.config.markets[0]
    with connect(f"{svc.ws}/rl/ws/orderbook?market={market}", max_queue=1) as ws:
        first = json.loads(ws.recv(timeout=30))["data"]["sequence"]
        time.sleep(3.0)  # the feed moves on (150 events/s) while this client reads nothing
        received = [json.loads(ws.recv(timeout=10))["data"]["sequence"] for _ in range(5)]
    assert received == sorted(received) and received[-1] > first
    assert received[-1] - first > 5  # it skipped ahead to the latest book instead of replaying every update
    status = svc.get("/rl/status").json()
    assert status["feed"]["books"][market]["stale"] is False
