"""Reading the real production captures: read_capture / read_market_info -> parse_frame.

What the files hold, frame by frame, as the captures' README documents it (line counts, the
repeated block, the two clocks, sub-cent prices, fractional sizes, the settlement). What the
collector makes of them (the book, the sequence gaps) is in ``test_real_captures.py``.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from kalshi_rl.core.events import BookDelta, BookSnapshot, LifecycleEvent
from kalshi_rl.kalshi.captures import CaptureFrame, read_capture, read_market_info
from kalshi_rl.kalshi.messages import Message, parse_frame
from kalshi_rl.kalshi.timestamps import rfc3339_to_ms
from tests.conftest import real_capture

ETH = "KXETH15M-26APR200200-00.jsonl"
BTC = "mdowis_KXBTC15M-26APR191500-00.head.jsonl"


@pytest.fixture(scope="module")
def eth() -> list[CaptureFrame]:
    return list(read_capture(real_capture(ETH)))


@pytest.fixture(scope="module")
def btc() -> list[CaptureFrame]:
    return list(read_capture(real_capture(BTC)))


def _messages(frames: list[CaptureFrame]) -> list[Message]:
    return [parse_frame(frame.raw, frame.recv_ns) for frame in frames]


def test_eth_capture_yields_every_market_line_in_file_order(eth: list[CaptureFrame]) -> None:
    kinds = Counter(frame.kind for frame in eth)
    assert kinds == {"delta": 2476, "ticker": 251, "trade": 102, "snapshot": 4, "lifecycle": 2}
    line_nos = [frame.line_no for frame in eth]
    assert line_nos == sorted(line_nos)
    assert len(set(line_nos)) == len(line_nos)
    assert len(line_nos) == 2844 - 3 - 6  # meta and stats lines are skipped


def test_btc_head_yields_every_market_line(btc: list[CaptureFrame]) -> None:
    assert Counter(frame.kind for frame in btc) == {"delta": 42, "trade": 10, "ticker": 2, "snapshot": 1}
    assert {frame.conn for frame in btc} == {0}


def test_eth_repeated_block_is_a_second_connection_with_identical_frames(eth: list[CaptureFrame]) -> None:
    first = [frame for frame in eth if frame.conn == 0]
    second = [frame for frame in eth if frame.conn == 1]
    assert {frame.conn for frame in eth} == {0, 1}
    assert (first[0].line_no, first[-1].line_no) == (2, 728)
    assert second[0].line_no == 730
    assert second[0].kind == "snapshot"
    repeated = second[: len(first)]
    assert [frame.raw for frame in repeated] == [frame.raw for frame in first]
    assert [frame.line_no - 728 for frame in repeated] == [frame.line_no for frame in first]


def test_frames_are_in_kalshis_current_shape(eth: list[CaptureFrame]) -> None:
    by_kind = {frame.kind: json.loads(frame.raw) for frame in eth}
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


def test_empty_close_snapshots_omit_both_sides(eth: list[CaptureFrame]) -> None:
    empty = [json.loads(f.raw)["msg"] for f in eth if f.kind == "snapshot" and f.line_no > 2800]
    assert len(empty) == 2
    assert all("yes_dollars_fp" not in msg and "no_dollars_fp" not in msg for msg in empty)


def test_receive_times_keep_local_and_exchange_clocks_apart(eth: list[CaptureFrame]) -> None:
    snapshot, first_delta = eth[0], eth[1]
    assert snapshot.recv_ns == 1_776_664_537_639_332_000  # local receive time, exact to the ns
    assert first_delta.kind == "delta"
    assert first_delta.line_no == 3
    # Kalshi stamped the delta before we received the snapshot; file order is kept regardless.
    assert first_delta.recv_ns == 1_776_664_537_333_843_000 < snapshot.recv_ns


def test_market_info_comes_from_the_last_meta_line() -> None:
    info = read_market_info(real_capture(ETH))
    assert (info.ticker, info.status, info.result) == ("KXETH15M-26APR200200-00", "finalized", "yes")
    assert info.open_time_ms == rfc3339_to_ms("2026-04-20T05:45:00Z")
    assert info.close_time_ms == rfc3339_to_ms("2026-04-20T06:00:00Z")
    assert info.expiration_time_ms == rfc3339_to_ms("2026-04-27T06:00:00Z")
    btc = read_market_info(real_capture(BTC))
    assert (btc.status, btc.result) == ("active", None)


def _prices_and_sizes(frames: list[CaptureFrame]) -> tuple[set[int], set[int]]:
    prices: set[int] = set()
    sizes: set[int] = set()
    for message in _messages(frames):
        if isinstance(message, BookSnapshot):
            for price, size in message.yes_bids + message.no_bids:
                prices.add(price)
                sizes.add(size)
        elif isinstance(message, BookDelta):
            prices.add(message.price_ticks)
            sizes.add(message.delta_units)
    return prices, sizes


def test_eth_capture_has_sub_cent_prices_and_fractional_sizes(eth: list[CaptureFrame]) -> None:
    prices, sizes = _prices_and_sizes(eth)
    sub_cent = {p for p in prices if p % 100}
    assert (len(prices), len(sub_cent)) == (119, 59)
    assert {10, 90, 110, 9_110, 9_130, 9_960, 9_990} <= sub_cent
    assert {52_022, 7_321, -13, -166_430} <= sizes
    assert max(sizes) == 6_680_000  # 66,800 contracts


def test_btc_capture_has_sub_cent_prices_and_fractional_sizes(btc: list[CaptureFrame]) -> None:
    prices, sizes = _prices_and_sizes(btc)
    assert {520, 130, 10} <= prices
    assert {67_899, -9_257} <= sizes


def test_eth_settlement_lifecycle_is_parsed(eth: list[CaptureFrame]) -> None:
    events = [m for m in _messages(eth) if isinstance(m, LifecycleEvent)]
    determined, settled = events
    assert (determined.event_type, determined.result, determined.settlement_ticks) == (
        "determined",
        "yes",
        10_000,
    )
    assert determined.ts_exchange_ms == 1_776_664_805_000
    assert determined.seq == 20
    assert (settled.event_type, settled.ts_exchange_ms, settled.seq) == ("settled", 1_776_664_814_000, 26)
