"""Real production captures replayed through the real path: read_capture -> parse_frame -> book.

The figures asserted here are the ones the captures' README documents (line counts, 682 delta
gaps, 26 trade gaps, 251 of 251 ticker lines matching the rebuilt book, ...).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kalshi_rl.core.errors import BookError
from kalshi_rl.core.events import BookDelta, BookSnapshot, LifecycleEvent, TickerUpdate, Trade
from kalshi_rl.core.units import PRICE_SCALE
from kalshi_rl.data.orderbook_state import OrderbookState
from kalshi_rl.kalshi.captures import CaptureFrame, read_capture, read_market_info
from kalshi_rl.kalshi.messages import Message, parse_frame
from kalshi_rl.kalshi.sequence import SequenceTracker, SeqVerdict
from kalshi_rl.kalshi.timestamps import rfc3339_to_ms

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / ".." / "shared" / "data" / "kalshi-captures"
ETH = CAPTURES / "KXETH15M-26APR200200-00.jsonl"
BTC = CAPTURES / "mdowis_KXBTC15M-26APR191500-00.head.jsonl"

pytestmark = pytest.mark.skipif(
    not (ETH.is_file() and BTC.is_file()),
    reason=f"real Kalshi captures not found under {CAPTURES.resolve()} (internal fixtures, not in the repo)",
)

Top = tuple[int, int, int, int]
"""Yes bid ticks, its size, yes ask ticks, its size; an empty side reads 0 / 10000 with size 0."""


def _top(book: OrderbookState) -> Top:
    volume = book.volume_at_best
    bid = 0 if book.best_yes_bid is None else book.best_yes_bid
    ask = PRICE_SCALE if book.best_yes_ask is None else book.best_yes_ask
    return bid, volume["yes_bid"], ask, volume["yes_ask"]


@dataclass
class TickerCheck:
    line_no: int
    conn: int
    time_ns: int
    reported: Top
    at_position: Top


@dataclass
class Replay:
    """What a replay of one capture saw, connection by connection."""

    frames: list[CaptureFrame]
    messages: list[Message]
    tickers: list[TickerCheck] = field(default_factory=list)
    tops_after_delta: dict[int, list[tuple[int, Top]]] = field(default_factory=dict)
    delta_seqs: dict[int, list[int]] = field(default_factory=dict)
    trade_seqs: dict[int, list[int]] = field(default_factory=dict)
    gaps: Counter[tuple[int, str]] = field(default_factory=Counter)
    levels_emptied: int = 0
    negative: list[str] = field(default_factory=list)
    books: dict[int, OrderbookState] = field(default_factory=dict)

    def ticker_matches_book_at_last_delta_before_it(self, check: TickerCheck) -> bool:
        """The README's rule: the book right after the last delta whose ts <= the ticker's time."""
        # read_capture stamps deltas and tickers with Kalshi's own message time (microseconds).
        earlier = [top for ts_ns, top in self.tops_after_delta[check.conn] if ts_ns <= check.time_ns]
        return bool(earlier) and earlier[-1] == check.reported


def _replay(path: Path) -> Replay:
    frames = list(read_capture(path))
    replay = Replay(frames, [parse_frame(frame.raw, frame.recv_ns) for frame in frames])
    conn, book, tracker = -1, None, SequenceTracker()
    for frame, message in zip(frames, replay.messages, strict=True):
        if frame.conn != conn:  # a new connection: nothing carries over
            conn, book, tracker = frame.conn, None, SequenceTracker()
            for per_conn in (replay.tops_after_delta, replay.delta_seqs, replay.trade_seqs):
                per_conn[conn] = []
        if isinstance(message, BookSnapshot):
            book = book or OrderbookState(message.market_ticker)
            book.apply_snapshot(message)
            book.check_invariants()
            replay.books[conn] = book
        elif isinstance(message, BookDelta):
            assert book is not None, f"line {frame.line_no}: delta before any snapshot"
            try:
                if book.apply_delta(message.side, message.price_ticks, message.delta_units) == 0:
                    replay.levels_emptied += 1
            except BookError as exc:  # the book is left unchanged; record and go on
                replay.negative.append(f"{path.name}:{frame.line_no}: {exc}")
            replay.tops_after_delta[conn].append((frame.recv_ns, _top(book)))
            replay.delta_seqs[conn].append(message.seq)
            if tracker.observe(message.sid, message.seq).verdict is SeqVerdict.GAP:
                replay.gaps[conn, "delta"] += 1
        elif isinstance(message, Trade):
            replay.trade_seqs[conn].append(message.seq)
            if tracker.observe(message.sid, message.seq).verdict is SeqVerdict.GAP:
                replay.gaps[conn, "trade"] += 1
        elif isinstance(message, TickerUpdate):
            assert book is not None
            reported = (
                message.yes_bid_ticks,
                message.yes_bid_size_units,
                message.yes_ask_ticks,
                message.yes_ask_size_units,
            )
            replay.tickers.append(TickerCheck(frame.line_no, conn, frame.recv_ns, reported, _top(book)))  # type: ignore[arg-type]
    for book in replay.books.values():
        book.check_invariants()
    return replay


@pytest.fixture(scope="module")
def eth() -> Replay:
    return _replay(ETH)


@pytest.fixture(scope="module")
def btc() -> Replay:
    return _replay(BTC)


# -- reading the files -------------------------------------------------------------------


def test_eth_capture_yields_every_market_line_in_file_order(eth: Replay) -> None:
    kinds = Counter(frame.kind for frame in eth.frames)
    assert kinds == {"delta": 2476, "ticker": 251, "trade": 102, "snapshot": 4, "lifecycle": 2}
    line_nos = [frame.line_no for frame in eth.frames]
    assert line_nos == sorted(line_nos)
    assert len(set(line_nos)) == len(line_nos)
    assert len(line_nos) == 2844 - 3 - 6  # meta and stats lines are skipped


def test_btc_head_yields_every_market_line(btc: Replay) -> None:
    assert Counter(frame.kind for frame in btc.frames) == {
        "delta": 42,
        "trade": 10,
        "ticker": 2,
        "snapshot": 1,
    }
    assert {frame.conn for frame in btc.frames} == {0}


def test_eth_repeated_block_is_a_second_connection_with_identical_frames(eth: Replay) -> None:
    first = [frame for frame in eth.frames if frame.conn == 0]
    second = [frame for frame in eth.frames if frame.conn == 1]
    assert {frame.conn for frame in eth.frames} == {0, 1}
    assert (first[0].line_no, first[-1].line_no) == (2, 728)
    assert second[0].line_no == 730
    assert second[0].kind == "snapshot"
    repeated = second[: len(first)]
    assert [frame.raw for frame in repeated] == [frame.raw for frame in first]
    assert [frame.line_no - 728 for frame in repeated] == [frame.line_no for frame in first]


def test_frames_are_in_kalshis_current_shape(eth: Replay) -> None:
    by_kind = {frame.kind: json.loads(frame.raw) for frame in eth.frames}
    snapshot, delta = by_kind["snapshot"], by_kind["delta"]
    assert (snapshot["type"], snapshot["sid"]) == ("orderbook_snapshot", 1)
    assert snapshot["msg"]["market_id"] == "257575b1-03b4-4117-8f63-75570423630e"
    assert set(delta["msg"]) == {
        "market_ticker",
        "market_id",
        "price_dollars",
        "delta_fp",
        "side",
        "ts",
        "ts_ms",
    }
    assert delta["msg"]["ts_ms"] == rfc3339_to_ms(delta["msg"]["ts"])
    assert by_kind["trade"]["sid"] == 2
    assert "ts_ms" in by_kind["trade"]["msg"]
    assert by_kind["lifecycle"]["type"] == "market_lifecycle_v2"
    assert by_kind["lifecycle"]["sid"] == 3
    assert by_kind["ticker"]["type"] == "ticker"
    assert "seq" not in by_kind["ticker"]


def test_empty_close_snapshots_omit_both_sides(eth: Replay) -> None:
    empty = [json.loads(f.raw)["msg"] for f in eth.frames if f.kind == "snapshot" and f.line_no > 2800]
    assert len(empty) == 2
    assert all("yes_dollars_fp" not in msg and "no_dollars_fp" not in msg for msg in empty)


def test_receive_times_keep_local_and_exchange_clocks_apart(eth: Replay) -> None:
    snapshot, first_delta = eth.frames[0], eth.frames[1]
    assert snapshot.recv_ns == 1_776_664_537_639_332_000  # local receive time, exact to the ns
    assert first_delta.kind == "delta"
    assert first_delta.line_no == 3
    # Kalshi stamped the delta before we received the snapshot; file order is kept regardless.
    assert first_delta.recv_ns == 1_776_664_537_333_843_000 < snapshot.recv_ns


def test_market_info_comes_from_the_last_meta_line() -> None:
    info = read_market_info(ETH)
    assert (info.ticker, info.status, info.result) == ("KXETH15M-26APR200200-00", "finalized", "yes")
    assert info.open_time_ms == rfc3339_to_ms("2026-04-20T05:45:00Z")
    assert info.close_time_ms == rfc3339_to_ms("2026-04-20T06:00:00Z")
    assert info.expiration_time_ms == rfc3339_to_ms("2026-04-27T06:00:00Z")
    assert read_market_info(BTC).status == "active"
    assert read_market_info(BTC).result is None


# -- the book ----------------------------------------------------------------------------


def test_no_delta_ever_makes_a_level_negative(eth: Replay, btc: Replay) -> None:
    assert eth.negative == []
    assert btc.negative == []
    assert sum(map(len, eth.tops_after_delta.values())) == 2476
    assert sum(map(len, btc.tops_after_delta.values())) == 42


def test_eth_levels_disappear_when_they_reach_exactly_zero(eth: Replay) -> None:
    assert eth.levels_emptied > 0


def test_eth_book_matches_every_ticker_line(eth: Replay) -> None:
    by_rule = [eth.ticker_matches_book_at_last_delta_before_it(check) for check in eth.tickers]
    at_position = [check.reported == check.at_position for check in eth.tickers]
    assert len(eth.tickers) == 251
    assert sum(by_rule) == 250
    assert sum(at_position) == 235  # a ticker line is written slightly after later deltas
    unmatched = [c for c, a, b in zip(eth.tickers, by_rule, at_position, strict=True) if not (a or b)]
    assert unmatched == []
    (odd,) = [c for c, a in zip(eth.tickers, by_rule, strict=True) if not a]
    assert odd.time_ns == 1_776_664_800_292_124_000  # 06:00:00.292124Z
    assert odd.reported == odd.at_position == (0, 0, PRICE_SCALE, 0)  # after the empty close snapshot


def test_btc_book_matches_both_ticker_lines(btc: Replay) -> None:
    assert len(btc.tickers) == 2
    assert all(btc.ticker_matches_book_at_last_delta_before_it(check) for check in btc.tickers)
    assert btc.tickers[-1].reported == (5_600, 60_969, 5_700, 14_147)  # 0.5600 x 609.69 / 0.5700 x 141.47


def test_eth_book_is_empty_after_settlement(eth: Replay) -> None:
    book = eth.books[1]
    assert len(book.yes_bids) == len(book.no_bids) == 0
    assert book.last_sequence == 7600


# -- sequences ---------------------------------------------------------------------------


def test_eth_complete_pass_has_the_documented_delta_gaps(eth: Replay) -> None:
    seqs = eth.delta_seqs[1]
    assert len(seqs) == 1847
    assert (seqs[0], seqs[-1]) == (6, 7596)
    assert all(b > a for a, b in itertools.pairwise(seqs))
    assert eth.gaps[1, "delta"] == 682
    jumps = [b - a - 1 for a, b in itertools.pairwise(seqs) if b - a > 1]
    assert (len(jumps), sum(jumps), max(jumps)) == (682, 5744, 83)


def test_eth_trade_sequence_has_the_documented_gaps(eth: Replay) -> None:
    seqs = eth.trade_seqs[1]
    assert len(seqs) == 64
    assert (seqs[0], seqs[-1]) == (3, 291)
    assert eth.gaps[1, "trade"] == 26


def test_btc_head_has_no_gaps(btc: Replay) -> None:
    assert btc.delta_seqs[0] == list(range(20545, 20587))
    assert btc.trade_seqs[0] == list(range(1228, 1238))
    assert sum(btc.gaps.values()) == 0


# -- exact values ------------------------------------------------------------------------


def _prices_and_sizes(replay: Replay) -> tuple[set[int], set[int]]:
    prices: set[int] = set()
    sizes: set[int] = set()
    for message in replay.messages:
        if isinstance(message, BookSnapshot):
            for price, size in message.yes_bids + message.no_bids:
                prices.add(price)
                sizes.add(size)
        elif isinstance(message, BookDelta):
            prices.add(message.price_ticks)
            sizes.add(message.delta_units)
    return prices, sizes


def test_eth_capture_has_sub_cent_prices_and_fractional_sizes(eth: Replay) -> None:
    prices, sizes = _prices_and_sizes(eth)
    sub_cent = {p for p in prices if p % 100}
    assert (len(prices), len(sub_cent)) == (119, 59)
    assert {10, 90, 110, 9_110, 9_130, 9_960, 9_990} <= sub_cent
    assert {52_022, 7_321, -13, -166_430} <= sizes
    assert max(sizes) == 6_680_000  # 66,800 contracts


def test_btc_capture_has_sub_cent_prices_and_fractional_sizes(btc: Replay) -> None:
    prices, sizes = _prices_and_sizes(btc)
    assert {520, 130, 10} <= prices
    assert {67_899, -9_257} <= sizes


def test_eth_settlement_lifecycle_is_parsed(eth: Replay) -> None:
    events = [m for m in eth.messages if isinstance(m, LifecycleEvent)]
    determined, settled = events
    assert (determined.event_type, determined.result, determined.settlement_ticks) == (
        "determined",
        "yes",
        10_000,
    )
    assert determined.ts_exchange_ms == 1_776_664_805_000
    assert determined.seq == 20
    assert (settled.event_type, settled.ts_exchange_ms, settled.seq) == ("settled", 1_776_664_814_000, 26)
