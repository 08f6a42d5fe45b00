"""The book stream's rate cap and coalescing, and bounded memory for slow stream clients.

Counts are compared with the service's own clock (its uptime), never with a wall-clock budget:
a loaded machine makes the server send fewer messages, never more.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from kalshi_rl.api.hubs import Hub
from kalshi_rl.api.websocket import MAX_HZ
from tests.api.conftest import Running, ServeFactory
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

CLOCK_ROUNDING_S = 0.002  # uptime_s is rounded to the millisecond, at both ends of an interval


def book_of(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=30))
    assert message["type"] == "orderbook_update", message
    return message["data"]  # type: ignore[no-any-return]


def max_messages(seconds: float) -> float:
    """The most a stream capped at MAX_HZ can send in ``seconds`` of the server's clock."""
    return MAX_HZ * (seconds + CLOCK_ROUNDING_S) + 1


def settle(svc: Running, market: str) -> None:
    """Freeze the exchange and wait until the service's book is the exchange's."""
    assert svc.exchange is not None
    svc.exchange.pause()
    wait_until(lambda: svc.book_matches_exchange(market), timeout_s=30)


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


def test_the_book_stream_sends_at_most_max_hz_books_per_second_of_the_server_clock(
    serve: ServeFactory,
) -> None:
    svc = serve()
    market = svc.config.markets[0]
    count = 20
    start = svc.server_clock()  # taken before the stream exists, so before its first message
    with connect(f"{svc.ws}/rl/ws/orderbook?market={market}") as ws:
        books = [book_of(ws) for _ in range(count)]
        elapsed = svc.server_clock() - start  # taken after the last message was sent
    assert count <= max_messages(elapsed), f"{count} books in {elapsed:.3f} s of the server's clock"
    sequences = [book["sequence"] for book in books]
    assert sequences == sorted(sequences)
    # The exchange moved the book far more often than the stream sent it: updates were coalesced.
    assert sequences[-1] - sequences[0] > 2 * count, sequences


def test_a_slow_client_gets_the_current_book_not_a_backlog(serve: ServeFactory) -> None:
    svc = serve()
    assert svc.exchange is not None
    market = svc.config.markets[0]
    settle(svc, market)
    with connect(f"{svc.ws}/rl/ws/orderbook?market={market}") as ws:
        settled = book_of(ws)
        assert settled == svc.book_message(market)["data"]
        start = svc.server_clock()
        events = 0
        while events < 500:  # a burst of book updates while the client reads nothing
            events += svc.exchange.step(100)
        wait_until(lambda: svc.book_matches_exchange(market), timeout_s=30)
        applied = svc.server_clock() - start  # the whole burst is in the service's book by now
        current = svc.book_message(market)["data"]

        received = [book_of(ws)]  # now the client reads, until it has the current book
        while received[-1] != current:
            received.append(book_of(ws))
        burst = [book for book in received if book != settled]  # (a re-send of the old book is no backlog)
        sequences = [book["sequence"] for book in burst]
        assert sequences == sorted(sequences)
        # While the burst was applied the stream sent at most its rate; after it, only the current
        # book. A stream that queued the updates would still be sending the old ones here.
        assert len(burst) <= max_messages(applied) + 1, f"{len(burst)} books for {events} updates"

        # Caught up, the very next book it gets is the exchange's next one: nothing stale was queued.
        newest = current
        while newest == current:  # step until the book changes (a step may only trade)
            svc.exchange.step(1)
            wait_until(lambda: svc.book_matches_exchange(market), timeout_s=30)
            newest = svc.book_message(market)["data"]
        following = book_of(ws)
        while following == current:  # the same book again (a metadata refresh touches it): not stale
            following = book_of(ws)
        assert following == newest


def test_the_book_stream_refuses_a_market_it_does_not_have(serve: ServeFactory) -> None:
    svc = serve()
    with connect(f"{svc.ws}/rl/ws/orderbook?market=KXNOPE-1") as ws:
        message = json.loads(ws.recv(timeout=30))
        assert message["data"]["code"] == "unknown_market"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
