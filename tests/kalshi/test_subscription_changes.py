"""Markets added to and removed from a running client (``KalshiWsClient.add_markets`` /
``remove_markets``), against the real local exchange over a real WebSocket.

What the exchange acknowledged (its ledger: ``ok`` replies with the full market list after
each ``update_subscription``, ``subscribed``, refusals) and what the client was sent (book
snapshots, deltas) are the ground truth.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from kalshi_rl.core.events import BookDelta, BookSnapshot
from kalshi_rl.kalshi.messages import Event
from kalshi_rl.kalshi.replies import Subscribed
from kalshi_rl.kalshi.subscription_changes import add_markets, remove_markets
from kalshi_rl.kalshi.subscriptions import LIFECYCLE, ORDERBOOK, Subscriptions
from kalshi_rl.kalshi.ws_client import FeedBreak, KalshiWsClient, WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.ledger import AckPayload
from tests.support.waiting import eventually


class Recorder:
    """A feed handler that keeps what each market was sent."""

    def __init__(self) -> None:
        self.snapshots: dict[str, int] = defaultdict(int)
        self.deltas: dict[str, int] = defaultdict(int)
        self.breaks: list[FeedBreak] = []
        self.quarantined: list[str] = []

    def on_connected(self, conn_id: int) -> None:
        pass

    def on_event(self, event: Event, raw: str) -> None:
        if isinstance(event, BookSnapshot):
            self.snapshots[event.market_ticker] += 1
        elif isinstance(event, BookDelta):
            self.deltas[event.market_ticker] += 1

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        pass

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        self.quarantined.append(reason)

    def on_break(self, feed_break: FeedBreak) -> None:
        self.breaks.append(feed_break)


def acks(sim: SimExchange, conn: int, reply: str) -> list[AckPayload]:
    return [
        e.payload
        for e in sim.ledger.entries(conn)
        if e.kind == "ack" and isinstance(e.payload, AckPayload) and e.payload.reply == reply
    ]


async def start_client(
    sim: SimExchange, markets: tuple[str, ...] = ()
) -> tuple[KalshiWsClient, Recorder, asyncio.Event, asyncio.Task[None]]:
    handler = Recorder()
    config = WsConfig(
        url=sim.ws_url, market_tickers=markets, channels=(ORDERBOOK, LIFECYCLE), reconnect_initial_s=0.05
    )
    client = KalshiWsClient(config, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(client.run(stop))
    await eventually(lambda: client.stream.subs.of_channel(LIFECYCLE), "the lifecycle subscription")
    return client, handler, stop, task


async def test_markets_added_to_a_running_client_get_their_books_within_the_subscription_limit(
    make_sim,
) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=7, rate=300, max_markets_per_subscription=4))
    tickers = sim.tickers
    client, handler, stop, task = await start_client(sim)
    try:
        assert client.subscribed_markets() == frozenset()  # nothing asked yet: no book subscription
        assert client.add_markets(tuple(tickers[:3])) == tuple(tickers[:3])
        await eventually(lambda: all(handler.snapshots[t] for t in tickers[:3]), "the first books")
        # Three more: the running sid has room for one (Kalshi's limit is unknown to the client,
        # so it asks for all three, is refused with 26, and opens a second subscription).
        assert client.add_markets(tuple(tickers[:6])) == tuple(tickers[3:6])  # repeats are not new
        await eventually(lambda: client.subscribed_markets() == frozenset(tickers[:6]), "six subscribed")
        await eventually(lambda: all(handler.snapshots[t] for t in tickers[:6]), "the added books")
        assert client.add_markets((tickers[6],)) == (tickers[6],)
        await eventually(lambda: handler.snapshots[tickers[6]] >= 1, "the seventh book")
    finally:
        stop.set()
        await task
    assert acks(sim, 1, "error") and {a.code for a in acks(sim, 1, "error")} == {26}
    oks = acks(sim, 1, "ok")  # update_subscription replies: the full list after each
    assert oks, "no market was added with update_subscription"
    assert all(len(ok.market_tickers) <= 4 for ok in oks)
    assert [b.reason for b in handler.breaks] == ["disconnect"] and not handler.quarantined  # at stop
    assert all(handler.snapshots[t] == 1 for t in tickers), handler.snapshots  # one book each, no resync


async def test_removed_markets_are_deleted_from_their_subscription_and_not_resubscribed(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=4, rate=400))
    tickers = tuple(sim.tickers)
    client, handler, stop, task = await start_client(sim, tickers)
    try:
        await eventually(lambda: all(handler.snapshots[t] for t in tickers), "every book")
        assert client.remove_markets(tickers[:2]) == tickers[:2]
        assert client.remove_markets(tickers[:2]) == ()  # not wanted any more: not deleted twice
        await eventually(lambda: client.subscribed_markets() == frozenset(tickers[2:]), "two deleted")
        (delete,) = acks(sim, 1, "ok")
        assert set(delete.market_tickers) == set(tickers[2:])
        # The exchange sends nothing more of the deleted markets after its ok.
        entries = sim.ledger.entries(1)
        ok_at = next(e.index for e in entries if e.kind == "ack" and e.payload == delete)
        assert not [
            e for e in entries[ok_at:] if e.kind in ("snapshot", "delta") and e.market_ticker in tickers[:2]
        ]
        # A new connection subscribes only what is still wanted.
        await next(iter(sim.sessions.values())).ws.close()
        await eventually(lambda: 2 in sim.sessions and client.subscribed_markets() == frozenset(tickers[2:]))
        await eventually(lambda: all(handler.snapshots[t] == 2 for t in tickers[2:]), "books again")
    finally:
        stop.set()
        await task
    second = [e for e in sim.ledger.entries(2) if e.kind == "snapshot"]
    assert {e.market_ticker for e in second} == set(tickers[2:])


async def test_a_market_removed_while_its_subscribe_is_unanswered_is_deleted_when_it_arrives(
    make_sim,
) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=2, rate=200))
    a, b = sim.tickers
    client, _, stop, task = await start_client(sim)
    try:
        client.add_markets((a, b))  # a subscribe, sent but not answered yet
        client.remove_markets((a,))
        await eventually(lambda: client.subscribed_markets() == frozenset({b}), "a deleted on arrival")
    finally:
        stop.set()
        await task
    (ok,) = acks(sim, 1, "ok")
    assert ok.market_tickers == (b,)


def test_added_markets_fill_the_subscriptions_with_room_before_a_new_one() -> None:
    subs = Subscriptions((ORDERBOOK, LIFECYCLE), ("A",))
    first = subs.subscribe_all()[0]
    request_id = json.loads(first)["id"]
    subs.on_subscribed(Subscribed(request_id, ORDERBOOK, 5))
    subs.chunk_limit = 2  # learnt from a 26
    new, commands = add_markets(subs, ("A", "B", "C", "D"))
    assert new == ("B", "C", "D")
    sent = [json.loads(c) for c in commands]
    assert [c["cmd"] for c in sent] == ["update_subscription", "subscribe"]
    assert sent[0]["params"] == {"sids": [5], "action": "add_markets", "market_tickers": ["B"]}
    assert sent[1]["params"]["market_tickers"] == ["C", "D"]
    assert subs.wanted[ORDERBOOK] == ("A", "B", "C", "D") == subs.wanted[LIFECYCLE]
    removed, commands = remove_markets(subs, ("A", "Z"))
    assert removed == ("A",)
    (delete,) = [json.loads(c) for c in commands]
    assert delete["params"] == {"sids": [5], "action": "delete_markets", "market_tickers": ["A"]}
