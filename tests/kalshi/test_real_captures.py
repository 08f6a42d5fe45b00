"""Real production captures through the collector's own path, not a side path.

Every frame goes read_capture -> KalshiWsClient.feed -> OrderbookClient -> SharedOrderbookState
-> OrderbookWriteQueue -> the lake, exactly as ``import_capture`` (``kalshi-rl import-capture``)
runs it: the recorded connections are replayed as connections (the KXETH15M file's repeated
block is a reconnect, resynced by its own snapshot), seq is checked per sid, and each frame is
accounted for in the lake's ``frames`` table. A hook reads the shared book as each frame arrives.

**The ticker rule.** A ``ticker`` message reports the book as of the last book frame received
before it (same connection) that Kalshi stamped at or before the ticker's ``time``; a snapshot,
which Kalshi does not stamp (this capture's ``ts`` on it is the local receive time), counts
from its arrival. Why: Kalshi stamps each delta (``msg.ts``) and each ticker (``msg.time``) on
the exchange clock but publishes them on different channels, so a ticker can arrive after
deltas stamped later than itself (for 16 of the 251 here the book at the ticker's position in
the stream has already moved on). Deltas arrive in stamp order and none stamped at or before a
ticker arrives after it, so the rule's book is the exchange's book at the ticker's time. At the
close Kalshi empties the book without deltas and says so with an unstamped empty snapshot; the
ticker stamped 06:00:00.292Z arrives after it and reports the empty book. All 251 match.

**The capture's seq gaps.** The recorder (``mdowis/Kalshi_orderbook_streamer``,
``scripts/stream_orderbook.py``) subscribes all open KXBTC15M and KXETH15M markets in one
``subscribe`` command and writes each market to its own file, and Kalshi's ``seq`` counts per
subscription: the holes in this file are the other market's messages. The first snapshot
already has seq 2, and the concurrent BTC market's file in the same upstream commit
(``data/KXBTC15M/2026-04-20/KXBTC15M-26APR200200-00.jsonl`` at ``01f8296b``) fills the holes
exactly: its book frames and this file's are disjoint and together are seq 1-71 and 7559-7600
without a gap (checked on those two stretches; its close snapshots are 7598 and 7599). So:

(a) With the real seq numbers the collector does what it must with a stream it cannot vouch
for: it reports every documented gap (682 between deltas, 26 on trades), keeps the book stale
until a snapshot comes, stores no delta from a stale book, and accounts for every frame.
(b) The ticker check needs a live book, so it renumbers seq per sid within each connection
(``import_capture``'s default, ``read_capture(contiguous_seq=True)``): the stream of one market
of a multi-market subscription, made contiguous. Renumbering would also hide a lost delta of
this market; what still catches one is the tickers (a lost change at the top of the book shows
at the next ticker), no level ever going negative, and the BTC file filling the holes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kalshi_rl.core.events import TickerUpdate
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.data.book.orderbook_state import OrderbookState
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.capture_import import ImportSummary, import_capture
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.kalshi.captures import CaptureFrame, read_capture
from kalshi_rl.kalshi.messages import parse_frame
from tests.conftest import real_capture

ETH = "KXETH15M-26APR200200-00.jsonl"
BTC = "mdowis_KXBTC15M-26APR191500-00.head.jsonl"
CLOSE_TICKER_NS = 1_776_664_800_292_124_000  # 06:00:00.292124Z, received after the close snapshot

Top = tuple[int, int, int, int]
"""Yes bid ticks, its size, yes ask ticks, its size; an empty side reads 0 / 10000 with size 0."""
Reported = tuple[int | None, int | None, int | None, int | None]
"""The same four values as a ticker message reports them."""


def _top(book: OrderbookState) -> Top:
    volume = book.volume_at_best
    bid = 0 if book.best_yes_bid is None else book.best_yes_bid
    ask = PRICE_SCALE if book.best_yes_ask is None else book.best_yes_ask
    return bid, volume["yes_bid"], ask, volume["yes_ask"]


def _exchange_ns(rfc3339: str) -> int:
    """Kalshi's stamp to the microsecond (with ``ts_ms`` a delta could tie a later ticker)."""
    return (
        (datetime.fromisoformat(rfc3339) - datetime(1970, 1, 1, tzinfo=UTC))
        // timedelta(microseconds=1)
        * 1000
    )


@dataclass(frozen=True)
class BookPoint:
    """The shared book right after one snapshot or delta (as the next frame found it)."""

    line_no: int
    conn: int
    kind: str
    exchange_ns: int | None  # the delta's msg.ts; a snapshot carries none
    top: Top
    live: bool


@dataclass(frozen=True)
class TickerPoint:
    line_no: int
    conn: int
    time_ns: int
    reported: Reported
    at_position: Top  # the book when the ticker arrived
    by_rule: BookPoint | None  # the rule's book frame (module docstring)

    @property
    def matches(self) -> bool:
        return self.by_rule is not None and self.by_rule.live and self.by_rule.top == self.reported


@dataclass
class Watcher:
    """``import_capture``'s hook, called just before each frame is fed.

    The shared book it finds is the one the previous frame left: the only thing that can run in
    between is a recorded reconnect, which marks the book stale (so the last book frame of a
    connection reads "not live"; no ticker of that connection comes after it).
    """

    points: list[BookPoint] = field(default_factory=list)
    tickers: list[TickerPoint] = field(default_factory=list)
    previous: CaptureFrame | None = None
    shared: SharedOrderbookState | None = None

    def __call__(self, frame: CaptureFrame, books: dict[str, SharedOrderbookState]) -> None:
        (self.shared,) = books.values()
        self.settle()
        self.previous = frame
        if frame.kind == "ticker":
            self.tickers.append(self._ticker(frame, self.shared.state))

    def settle(self) -> None:
        """Record the book as the previous frame left it."""
        frame, self.previous = self.previous, None
        if frame is None or self.shared is None or frame.kind not in ("snapshot", "delta"):
            return
        stamp = _exchange_ns(json.loads(frame.raw)["msg"]["ts"]) if frame.kind == "delta" else None
        state = self.shared.state
        self.points.append(
            BookPoint(frame.line_no, frame.conn, frame.kind, stamp, _top(state), not state.stale)
        )

    def _ticker(self, frame: CaptureFrame, book: OrderbookState) -> TickerPoint:
        update = parse_frame(frame.raw, frame.recv_ns)
        assert isinstance(update, TickerUpdate)
        reported = (
            update.yes_bid_ticks,
            update.yes_bid_size_units,
            update.yes_ask_ticks,
            update.yes_ask_size_units,
        )
        time_ns = _exchange_ns(json.loads(frame.raw)["msg"]["time"])
        eligible = [
            p
            for p in self.points
            if p.conn == frame.conn and (p.exchange_ns is None or p.exchange_ns <= time_ns)
        ]
        rule = eligible[-1] if eligible else None
        return TickerPoint(frame.line_no, frame.conn, time_ns, reported, _top(book), rule)


@dataclass
class Run:
    summary: ImportSummary
    lake: LakeReader
    watcher: Watcher
    book: SharedOrderbookState

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return self.lake.query(sql)


def _collect(name: str, lake: Path, *, contiguous_seq: bool) -> Run:
    watcher = Watcher()
    path = real_capture(name)
    summary = asyncio.run(import_capture(path, lake, contiguous_seq=contiguous_seq, on_frame=watcher))
    watcher.settle()
    assert watcher.shared is not None
    return Run(summary, LakeReader(lake), watcher, watcher.shared)


@pytest.fixture(scope="module")
def eth(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The ETH capture with seq renumbered per connection: (b) in the module docstring."""
    return _collect(ETH, tmp_path_factory.mktemp("eth-live"), contiguous_seq=True)


@pytest.fixture(scope="module")
def eth_real_seq(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The ETH capture with Kalshi's own seq numbers: (a) in the module docstring."""
    return _collect(ETH, tmp_path_factory.mktemp("eth-real-seq"), contiguous_seq=False)


# -- (b) the book against Kalshi's ticker messages ---------------------------------------


def test_eth_book_matches_all_251_ticker_messages_under_one_rule(eth: Run) -> None:
    tickers = eth.watcher.tickers
    assert len(tickers) == 251
    assert [t.line_no for t in tickers if not t.matches] == []
    # Why the rule reads exchange stamps: at its position in the stream the book has moved on.
    assert sum(t.at_position == t.reported for t in tickers) == 235
    # Why a snapshot counts from its arrival: the close empties the book without deltas.
    (close,) = [t for t in tickers if t.time_ns == CLOSE_TICKER_NS]
    assert close.by_rule is not None
    assert (close.by_rule.kind, close.by_rule.line_no) == ("snapshot", 2834)
    assert close.reported == close.by_rule.top == (0, 0, PRICE_SCALE, 0)


def test_eth_stamps_make_the_rule_a_cut_at_the_tickers_exchange_time(eth: Run) -> None:
    points, tickers = eth.watcher.points, eth.watcher.tickers
    for conn in (0, 1):
        stamps = [p.exchange_ns for p in points if p.conn == conn and p.exchange_ns is not None]
        assert stamps == sorted(stamps)  # deltas arrive in the order Kalshi stamped them
    late = [
        (t.line_no, p.line_no)
        for t in tickers
        for p in points
        if p.conn == t.conn
        and p.line_no > t.line_no
        and p.exchange_ns is not None
        and p.exchange_ns <= t.time_ns
    ]
    assert late == []  # no delta stamped at or before a ticker arrives after it


def test_eth_replay_keeps_the_book_whole_and_accounts_for_every_frame(eth: Run) -> None:
    stats = eth.summary.stats
    assert (eth.summary.frames, eth.summary.connections) == (2835, 2)
    # No gap once renumbered, no delta ever made a level negative (it would be quarantined).
    assert (stats.gaps, stats.quarantined, stats.stale_skipped, stats.deltas) == (0, 0, 0, 2476)
    assert eth.rows("SELECT disposition, count(*) FROM frames GROUP BY ALL") == [("applied", 2835)]
    events = eth.rows("SELECT conn_id, kind FROM book_events ORDER BY ts_recv_ns, kind")
    assert events == [(1, "disconnect"), (2, "resync"), (2, "disconnect")]  # the repeated block
    # Levels disappear when they reach exactly 0 (470 of the 2,476 deltas), none goes below.
    sql = "SELECT count(*) FILTER (WHERE size_after = 0), min(size_after) FROM deltas"
    assert eth.rows(sql) == [(470, 0)]


def test_eth_book_is_empty_after_settlement(eth: Run) -> None:
    book = eth.book
    assert len(book.state.yes_bids) == len(book.state.no_bids) == 0
    assert (book.status.closed, book.status.result, book.status.settlement_ticks) == (True, "yes", 10_000)


def test_btc_head_needs_no_renumbering_and_matches_both_tickers(tmp_path: Path) -> None:
    run = _collect(BTC, tmp_path, contiguous_seq=False)
    assert (run.summary.stats.gaps, run.summary.stats.stale_skipped) == (0, 0)
    assert run.rows("SELECT disposition, count(*) FROM frames GROUP BY ALL") == [("applied", 55)]
    assert [t.matches for t in run.watcher.tickers] == [True, True]
    last = run.watcher.tickers[-1].reported
    assert last == (5_600, 60_969, 5_700, 14_147)  # 0.5600 x 609.69 / 0.5700 x 141.47


# -- (a) Kalshi's own seq numbers --------------------------------------------------------


def _file_gaps(name: str, conn: int, kinds: tuple[str, ...]) -> list[tuple[int, int]]:
    """(expected, got) for every jump in one sid's seq, read from the capture itself."""
    seqs = [
        json.loads(f.raw)["seq"]
        for f in read_capture(real_capture(name))
        if f.conn == conn and f.kind in kinds
    ]
    return [(a + 1, b) for a, b in itertools.pairwise(seqs) if b > a + 1]


def _lake_gaps(run: Run, conn_id: int, kind: str) -> list[tuple[int, int]]:
    """(expected, got) of the collector's ``kind`` events on one connection, from the lake."""
    sql = "SELECT expected_seq, got_seq FROM book_events WHERE conn_id = ? AND kind = ? ORDER BY got_seq"
    return [(int(expected), int(got)) for expected, got in run.lake.query(sql, [conn_id, kind])]


def test_real_seqs_report_exactly_the_documented_gaps(eth_real_seq: Run) -> None:
    # The complete pass is the second recorded connection (the collector's conn_id 2).
    book = _lake_gaps(eth_real_seq, 2, "gap")
    assert book == _file_gaps(ETH, 1, ("snapshot", "delta"))
    between_deltas = book[1:-1]  # the first follows the snapshot (seq 2), the last is a snapshot
    assert (book[0], book[-1]) == ((3, 6), (7598, 7600))
    missing = [got - expected for expected, got in between_deltas]
    assert (len(missing), sum(missing), max(missing)) == (682, 5744, 83)
    trades = _lake_gaps(eth_real_seq, 2, "trade_gap")
    assert trades == _file_gaps(ETH, 1, ("trade",))
    assert len(trades) == 26
    assert _lake_gaps(eth_real_seq, 2, "market_lifecycle_v2_gap") == [(21, 26)]
    # The repeated block, as its own connection, reports the same holes.
    first_book = _lake_gaps(eth_real_seq, 1, "gap")
    assert first_book == _file_gaps(ETH, 0, ("snapshot", "delta"))
    first_trades = _lake_gaps(eth_real_seq, 1, "trade_gap")
    assert first_trades == _file_gaps(ETH, 0, ("trade",))
    counted = len(book) + len(trades) + 1 + len(first_book) + len(first_trades)
    assert eth_real_seq.summary.stats.gaps == counted == 684 + 26 + 1 + 223 + 14


def test_real_seqs_keep_the_book_stale_until_a_snapshot_and_every_frame_reconciles(eth_real_seq: Run) -> None:
    run = eth_real_seq
    frames = list(read_capture(real_capture(ETH)))
    kinds = Counter((f.conn + 1, "stale" if f.kind == "delta" else "applied") for f in frames)
    dispositions = run.rows("SELECT conn_id, disposition, count(*) FROM frames GROUP BY ALL ORDER BY ALL")
    assert {(c, d): n for c, d, n in dispositions} == kinds  # every delta met a stale book
    assert kinds == {(1, "applied"): 98, (1, "stale"): 629, (2, "applied"): 261, (2, "stale"): 1847}
    assert sum(kinds.values()) == run.summary.frames == len(frames) == 2835
    assert (run.summary.stats.stale_skipped, run.summary.stats.deltas) == (2476, 0)
    assert (run.lake.count("deltas"), run.lake.count("snapshots"), run.lake.count("trades")) == (0, 4, 102)
    points = run.watcher.points
    assert not any(p.live for p in points if p.kind == "delta")
    assert all(p.live for p in points if p.kind == "snapshot")
    resyncs = run.rows("SELECT got_seq FROM book_events WHERE kind = 'resync' ORDER BY ts_recv_ns")
    assert resyncs == [(2,), (7597,), (7600,)]  # the reconnect and the two close snapshots
    assert run.book.state.last_sequence == 7600
    # Why (b) renumbers: with the real seq only the ticker after the close snapshot meets a live book.
    assert [t.time_ns for t in run.watcher.tickers if t.matches] == [CLOSE_TICKER_NS]
