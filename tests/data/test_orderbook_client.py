"""OrderbookClient: frames in, books and lake rows out, every frame accounted for once."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kalshi_rl.core.events import Side
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.messages import parse_frame
from kalshi_rl.kalshi.ws_client import FeedBreak

A, B = "KX-A", "KX-B"


class Harness:
    def __init__(self, root: Path, sample_rate: int = 1) -> None:
        self.root = root
        self.books = {A: SharedOrderbookState(A), B: SharedOrderbookState(B)}
        self.queue = OrderbookWriteQueue(
            [LakeSink(LakeWriter(root, "s"))], WriteQueueConfig(sample_rate=sample_rate)
        )
        self.requested: list[str] = []
        self.client = OrderbookClient(self.books, self.queue, "s", 1_000, self.requested.append)
        self.client.on_connected(1)
        self.ns = 1_776_664_537_000_000_000

    def feed(self, raw: str) -> None:
        self.ns += 1_000
        message = parse_frame(raw, self.ns)
        self.client.on_event(message, raw)  # type: ignore[arg-type]

    def snapshot(self, market: str, seq: int, yes: list[tuple[int, int]], no: list[tuple[int, int]]) -> None:
        self.feed(encode.snapshot_frame(1, seq, market, "id", yes, no))

    def delta(self, market: str, seq: int, side: Side, price: int, delta: int) -> None:
        self.feed(encode.delta_frame(1, seq, market, "id", side, price, delta, 1_776_664_537_000 + seq))

    async def lake(self, sql: str) -> list[tuple[object, ...]]:
        await self.queue.close()
        con = duckdb.connect()
        for table in ("snapshots", "deltas", "frames", "book_events", "quarantine"):
            files = list((self.root / table).rglob("*.parquet"))
            if files:
                con.execute(
                    f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{self.root}/{table}/**/*.parquet', hive_partitioning=true)"
                )
        return con.execute(sql).fetchall()


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


async def test_snapshot_then_deltas_build_the_book_and_the_rows(h: Harness) -> None:
    h.snapshot(A, 1, [(5600, 67899)], [(4300, 29147)])
    h.delta(A, 2, Side.YES, 5650, 1000)
    h.delta(A, 3, Side.NO, 4300, -29147)
    book = h.books[A].state
    assert (book.best_yes_bid, book.best_yes_ask, book.best_no_bid) == (5650, None, None)
    rows = await h.lake(
        "SELECT seq, side, price_ticks, delta_units, size_after, segment FROM deltas ORDER BY seq"
    )
    segment = rows[0][5]
    assert rows == [(2, "yes", 5650, 1000, 1000, segment), (3, "no", 4300, -29147, 0, segment)]


async def test_deltas_before_any_snapshot_are_counted_stale_not_applied(h: Harness) -> None:
    h.delta(A, 1, Side.YES, 5000, 100)
    assert h.client.stats[A].stale_skipped == 1
    assert await h.lake("SELECT disposition, count(*) FROM frames GROUP BY 1") == [("stale", 1)]


async def test_inconsistent_delta_is_quarantined_and_triggers_a_resync(h: Harness) -> None:
    h.snapshot(A, 1, [(5600, 100)], [])
    h.delta(A, 2, Side.YES, 5600, -200)  # would leave -1.00 contracts
    assert h.books[A].state.stale
    assert h.requested == [A]
    h.delta(A, 3, Side.YES, 5600, 50)  # waits for the snapshot
    h.snapshot(A, 4, [(5600, 300)], [])
    h.delta(A, 5, Side.YES, 5600, 50)
    assert h.books[A].state.yes_bids.sizes == {5600: 350}
    stats = h.client.stats[A]
    assert (stats.quarantined, stats.stale_skipped, stats.resyncs, stats.deltas) == (1, 1, 1, 1)
    reasons = await h.lake("SELECT reason FROM quarantine")
    assert "negative" in reasons[0][0]
    kinds = [r[0] for r in await h.lake("SELECT kind FROM book_events ORDER BY ts_recv_ns")]
    assert kinds == ["inconsistent", "resync"]


async def test_a_gap_breaks_every_book_of_the_sid_and_segments_restart(h: Harness) -> None:
    h.snapshot(A, 1, [(5600, 100)], [])
    h.snapshot(B, 2, [(4000, 100)], [])
    h.client.on_break(FeedBreak("gap", "orderbook_delta", 1, (A, B), h.ns, 4, 6))
    assert h.books[A].state.stale and h.books[B].state.stale
    h.snapshot(A, 7, [(5600, 100)], [])
    h.delta(A, 8, Side.YES, 5600, 1)
    rows = await h.lake("SELECT market_ticker, seq, segment FROM snapshots ORDER BY seq")
    assert rows[0][2] != rows[2][2]  # A's segment changed across the gap
    assert h.client.stats[A].gaps == 1 and h.client.stats[B].gaps == 1


async def test_frames_for_other_markets_are_quarantined_or_ignored(h: Harness) -> None:
    h.feed(encode.delta_frame(1, 1, "KX-OTHER", "id", Side.YES, 5000, 100, 0))
    h.feed(encode.lifecycle_frame(3, 1, "KX-OTHER", "determined", result="yes", settlement_value="1.0000"))
    assert await h.lake("SELECT disposition, count(*) FROM frames GROUP BY 1 ORDER BY 1") == [
        ("other_market", 1),
        ("quarantined", 1),
    ]


async def test_sampling_keeps_one_delta_in_n_but_applies_them_all(tmp_path: Path) -> None:
    h = Harness(tmp_path, sample_rate=3)
    h.snapshot(A, 1, [(5600, 100)], [])
    for seq in range(2, 8):
        h.delta(A, seq, Side.YES, 5600, 1)
    assert h.books[A].state.yes_bids.sizes == {5600: 106}
    assert h.client.stats[A].sampled_out == 4
    assert await h.lake("SELECT count(*) FROM deltas") == [(2,)]


async def test_lifecycle_settlement_updates_the_shared_status(h: Harness) -> None:
    h.feed(
        encode.lifecycle_frame(
            3, 1, A, "determined", result="no", settlement_value="0.0000", determination_ts=1
        )
    )
    status = h.books[A].status
    assert status.closed and status.result == "no" and status.settlement_ticks == 0
