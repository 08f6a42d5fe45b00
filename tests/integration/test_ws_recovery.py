"""Reconnects and resubscriptions against the real local exchange, over a real socket.

Backoff: ``KalshiWsClient`` against a ``SimExchange`` that drops connections, that is down,
or a server that hangs up before subscribing us. The delays the client chose are read from
``stats.reconnect_delays_s`` (exact, whatever the machine's load); outages are also timed,
with generous slack.

Resubscription: the ``Collector`` against a ``SimExchange`` that leaves get_snapshot requests
unanswered or ends the book subscription with error 25 / 10. Checked through what anyone can
see: the lake's ``book_events`` rows, the summary's stats, the exchange's ledger and counters,
and the final books against the exchange's.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import duckdb
import pytest
from websockets.asyncio.server import ServerConnection, serve

from kalshi_rl.data.ingest.collector import Collector, CollectorConfig, CollectorSummary
from kalshi_rl.data.ingest.write_queue import WriteQueueConfig
from kalshi_rl.kalshi.messages import Event
from kalshi_rl.kalshi.ws_client import ORDERBOOK, FeedBreak, KalshiWsClient, WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.sim.faults import FaultConfig
from kalshi_rl.sim.ledger import AckPayload
from kalshi_rl.sim.protocol import ERROR_MESSAGES
from tests.support.waiting import eventually

INITIAL_S = 0.1
CYCLE = ("gap", "resubscribe", "resync")
OUTAGE_SLACK_S = 2.0
"""Handshake and scheduling time allowed on top of the backoff (a loaded 2-core machine).
Before the fix the 20th outage waited 15-30 s."""


class Timeline:
    """A feed handler that notes when connections break and open, and the acks it gets."""

    def __init__(self) -> None:
        self.broke_at: float | None = None
        self.outages_s: list[float] = []
        self.subscribed = 0

    def on_connected(self, conn_id: int) -> None:
        if self.broke_at is not None:
            self.outages_s.append(time.monotonic() - self.broke_at)
            self.broke_at = None

    def on_event(self, event: Event, raw: str) -> None:
        pass

    def on_control(self, raw: str, recv_ns: int, kind: str = "control") -> None:
        self.subscribed += '"type":"subscribed"' in raw

    def on_quarantine(self, raw: str, recv_ns: int, reason: str, market: str | None) -> None:
        pass

    def on_break(self, feed_break: FeedBreak) -> None:
        if feed_break.reason == "disconnect":
            self.broke_at = time.monotonic()


def within_backoff(delays: list[float], initial_s: float) -> bool:
    """Return whether the n-th delay lies in [c/2, c] for the ceiling c = initial_s * 2**n."""
    return all(initial_s * 2**n / 2 <= d <= initial_s * 2**n for n, d in enumerate(delays))


async def test_backoff_starts_over_after_every_connection_that_worked(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(
        SimConfig(markets=2, rate=2_000, faults=FaultConfig(drop_every=100), record_ledger=False)
    )
    timeline = Timeline()
    config = WsConfig(sim.ws_url, tuple(sim.tickers), reconnect_initial_s=INITIAL_S, reconnect_max_s=30.0)
    client = KalshiWsClient(config, timeline)
    delays = client.stats.reconnect_delays_s
    stop = asyncio.Event()
    run = asyncio.create_task(client.run(stop))
    try:
        # Stop early as soon as one delay is too long: before the fix that is the 3rd drop.
        await eventually(lambda: client.stats.reconnects >= 20 or max(delays, default=0) > 2 * INITIAL_S)
    finally:
        stop.set()
        await run

    assert max(delays) <= 2 * INITIAL_S, f"backoff kept growing over the drops: {delays}"
    assert sim.counters.drops >= 20 and len(delays) >= 20
    assert len(timeline.outages_s) >= 20
    assert max(timeline.outages_s) < 2 * INITIAL_S + OUTAGE_SLACK_S, timeline.outages_s


async def test_failed_attempts_in_a_row_back_off_exponentially_until_one_works(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim: SimExchange = await make_sim(SimConfig(markets=1, rate=200, record_ledger=False))
    port = sim.port
    timeline = Timeline()
    config = WsConfig(sim.ws_url, tuple(sim.tickers), reconnect_initial_s=0.05, reconnect_max_s=30.0)
    client = KalshiWsClient(config, timeline, rng=random.Random(3))
    delays = client.stats.reconnect_delays_s
    stop = asyncio.Event()
    run = asyncio.create_task(client.run(stop))
    try:
        await eventually(lambda: timeline.subscribed == 3, what="the first subscriptions")
        await sim.stop()  # the exchange is down: every attempt is refused
        await eventually(lambda: len(delays) >= 6, what="six attempts")
        refused = list(delays)
        assert client.stats.connects == 1
        # The closed connection had worked (wait ~0.05 s), then each refusal doubles the wait.
        assert within_backoff(refused[:6], 0.05), refused

        again: SimExchange = await make_sim(SimConfig(markets=1, rate=200, port=port, record_ledger=False))
        await eventually(lambda: timeline.subscribed == 6, what="the subscriptions after the restart")
        count = len(delays)
        await again.stop()
        await eventually(lambda: len(delays) > count, what="an attempt after the second outage")
    finally:
        stop.set()
        await run
    assert client.stats.connects == 2 and client.stats.reconnects == 1
    assert 0.025 <= delays[count] <= 0.05, f"the backoff did not start over: {delays}"


@pytest.mark.parametrize("graceful", [True, False], ids=["close-frame", "tcp-abort"])
async def test_a_server_that_hangs_up_before_subscribing_us_keeps_the_client_backing_off(
    graceful: bool,
) -> None:
    async def hang_up(ws: ServerConnection) -> None:
        await ws.recv()  # the first subscribe: the handshake is done, nothing is acknowledged
        if graceful:
            await ws.close()  # a close frame: the client's session ends without an error
        else:
            ws.transport.abort()

    async with serve(hang_up, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/trade-api/ws/v2"
        config = WsConfig(url, ("KX-A",), reconnect_initial_s=0.02, reconnect_max_s=30.0)
        client = KalshiWsClient(config, Timeline(), rng=random.Random(4))
        delays = client.stats.reconnect_delays_s
        stop = asyncio.Event()
        run = asyncio.create_task(client.run(stop))
        try:
            await eventually(lambda: len(delays) >= 6, what="six attempts")
        finally:
            stop.set()
            await run
    assert client.stats.connects >= 6  # every handshake succeeded ...
    assert within_backoff(delays[:6], 0.02), delays  # ... yet none of them counts as working


# -- the collector resubscribes -------------------------------------------------------------------


def start_collector(
    sim: SimExchange, lake: Path
) -> tuple[Collector, asyncio.Event, asyncio.Task[CollectorSummary]]:
    ws = WsConfig(sim.ws_url, tuple(sim.tickers), reconnect_initial_s=0.05, resync_timeout_s=0.5)
    collector = Collector(
        CollectorConfig(
            ws=ws, rest_url=sim.rest_url, lake_dir=lake, write=WriteQueueConfig(flush_interval_s=0.2)
        )
    )
    stop = asyncio.Event()
    return collector, stop, asyncio.create_task(collector.run(stop))


async def settle(sim: SimExchange, collector: Collector) -> None:
    """Freeze the exchange and wait until the collector read everything and its books are live.

    A lost message at the very end of a book stream would never be noticed (nothing follows
    it), so the paused exchange is stepped until the last book message it made was sent.
    """
    sim.pause()
    while True:
        await sim.drain()
        last = [
            [e for e in sim.ledger.entries(conn) if e.channel == ORDERBOOK and e.kind != "ack"][-1:]
            for conn in sim.sessions
        ]
        if not any(tail and tail[0].kind == "lost" for tail in last):
            break
        sim.step()

    def settled() -> bool:
        sent = sum(len(sim.ledger.sent(conn)) for conn in sim.ledger.connections())
        assert collector.ws is not None
        subscribed = len(collector.ws.subscription_seqs()) == len(collector.config.ws.channels)
        return (
            subscribed
            and collector.ws.stats.frames == sent
            and all(
                not book.state.stale
                and (book.state.yes_bids.items_ascending(), book.state.no_bids.items_ascending())
                == sim.book(ticker)
                for ticker, book in collector.books.items()
            )
        )

    await eventually(settled, "live books equal to the exchange's", 30.0)


def book_events(lake: Path) -> list[tuple[str, str, int | None, str]]:
    """Return the lake's book events as (market, kind, sid, detail), in the order received."""
    return (
        duckdb.connect()
        .execute(
            "SELECT market_ticker, kind, sid, detail "
            f"FROM read_parquet('{lake}/book_events/**/*.parquet', hive_partitioning=true) "
            "ORDER BY ts_recv_ns, market_ticker"
        )
        .fetchall()
    )


async def test_collector_resubscribes_when_a_get_snapshot_reply_never_comes(
    make_sim,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    faults = FaultConfig(gap_every=400, drop_snapshot_replies=1_000_000)  # no request is answered
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=5, rate=1_000, faults=faults))
    collector, stop, run = start_collector(sim, tmp_path / "lake")
    try:
        await eventually(lambda: sim.counters.snapshot_replies_dropped >= 2, what="two unanswered requests")
        await settle(sim, collector)
    finally:
        stop.set()
        summary = await run

    assert summary.ws.gaps >= 1 and summary.ws.resubscribes >= 1
    assert sim.counters.snapshot_replies_dropped == summary.ws.snapshot_requests
    assert summary.ws.reconnects == 0  # recovered on the same connection
    events = book_events(tmp_path / "lake")
    for ticker in sim.tickers:
        book = [(kind, why) for market, kind, _, why in events if market == ticker and kind in CYCLE]
        resubscribes = [why for kind, why in book if kind == "resubscribe"]
        assert resubscribes == ["snapshot request timed out"] * summary.ws.resubscribes
        # Every break runs the same course: gap(s) on the old sid, the unanswered request times
        # out, the book channel is resubscribed, the new sid's snapshot makes the book live.
        collapsed = [kind for i, (kind, _) in enumerate(book) if i == 0 or book[i - 1][0] != kind]
        assert collapsed == list(CYCLE) * summary.ws.resubscribes
        assert summary.markets[ticker].resyncs == summary.ws.resubscribes


@pytest.mark.parametrize("code", [25, 10])
async def test_collector_resubscribes_after_a_terminal_error_from_the_exchange(
    make_sim,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    code: int,
) -> None:
    faults = FaultConfig(error_every=600, error_code=code)
    sim: SimExchange = await make_sim(SimConfig(markets=2, seed=9, rate=1_000, faults=faults))
    collector, stop, run = start_collector(sim, tmp_path / "lake")
    try:
        await eventually(lambda: sim.counters.subscription_errors >= 3, what="three terminal errors")
        await settle(sim, collector)
    finally:
        stop.set()
        summary = await run

    (conn,) = sim.ledger.connections()
    acks = [(e, e.payload) for e in sim.ledger.sent(conn) if isinstance(e.payload, AckPayload)]
    errors = [e for e, ack in acks if ack.reply == "error" and ack.code == code]
    assert len(errors) == summary.ws.errors[code] == summary.ws.resubscribes >= 3
    assert summary.ws.reconnects == 0
    # Every subscription the exchange ended was taken out again: one new sid per error.
    subscribed = [e for e, ack in acks if ack.reply == "subscribed"]
    assert len(subscribed) == 3 + len(errors)

    detail = f"terminal error {code}: {ERROR_MESSAGES[code]}"
    events = book_events(tmp_path / "lake")
    book_errors = [e for e in errors if e.channel == ORDERBOOK]
    assert book_errors, "the book subscription was never ended"
    for ticker in sim.tickers:
        rows = [(kind, sid) for market, kind, sid, why in events if market == ticker and why == detail]
        assert sorted(rows) == sorted(
            [("resubscribe", e.sid) for e in book_errors]
            + [(f"{e.channel}_resubscribe", e.sid) for e in errors if e.channel != ORDERBOOK]
        )
        assert summary.markets[ticker].resyncs == len(book_errors)
