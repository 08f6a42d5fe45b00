"""read_capture / read_market_info on small synthetic captures in the collector's format,
and the one helper through which tests reach the real captures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kalshi_rl.core.errors import DataNotFoundError, InvalidValueError
from kalshi_rl.core.events import BookDelta, BookSnapshot, LifecycleEvent, Side, TickerUpdate, Trade
from kalshi_rl.kalshi.captures import read_capture, read_market_info
from kalshi_rl.kalshi.messages import parse_frame
from tests.conftest import CAPTURES, real_capture

T = "KXETH15M-26APR200200-00"
MID = "257575b1-03b4-4117-8f63-75570423630e"


def _meta(**changes: Any) -> dict[str, Any]:
    meta = {
        "type": "meta",
        "ticker": T,
        "series_ticker": None,
        "title": "ETH price up in next 15 mins?",
        "floor_strike": 2267.17,
        "open_time": "2026-04-20T05:45:00Z",
        "close_time": "2026-04-20T06:00:00Z",
        "expiration_time": "2026-04-27T06:00:00Z",
        "market_type": "binary",
        "result": "",
        "status": "active",
    }
    meta.update(changes)
    return meta


def _snap(
    seq: int, yes: list[list[str]], no: list[list[str]], ts: float | str = 1776664537.639332
) -> dict[str, Any]:
    return {"type": "snapshot", "ts": ts, "ticker": T, "seq": seq, "yes": yes, "no": no}


def _delta(
    seq: int, price: str, delta: str, side: str = "yes", ts: str = "2026-04-20T05:55:45.094Z"
) -> dict[str, Any]:
    return {
        "type": "delta",
        "ts": ts,
        "ticker": T,
        "seq": seq,
        "market_id": MID,
        "price_dollars": price,
        "delta_fp": delta,
        "side": side,
    }


TRADE = {
    "type": "trade",
    "ts": 1776664538,
    "ticker": T,
    "seq": 3,
    "trade_id": "6aa82cc3",
    "yes_price_dollars": "0.9810",
    "no_price_dollars": "0.0190",
    "count_fp": "3.50",
    "taker_side": "no",
}
TICKER = {
    "type": "ticker",
    "ts": 1776664538,
    "ticker": T,
    "seq": 0,
    "market_id": MID,
    "price_dollars": "0.9900",
    "yes_bid_dollars": "0.9620",
    "yes_ask_dollars": "0.9900",
    "volume_fp": "17597.14",
    "open_interest_fp": "7633.36",
    "dollar_volume": 8798,
    "dollar_open_interest": 3816,
    "yes_bid_size_fp": "100.00",
    "yes_ask_size_fp": "129.22",
    "last_trade_size_fp": "100.00",
    "time": "2026-04-20T05:55:38.167226Z",
}
DETERMINED = {
    "type": "lifecycle",
    "ts": 1776664878.1073444,
    "ticker": T,
    "seq": 20,
    "event_type": "determined",
    "determination_ts": 1776664805,
    "result": "yes",
    "settlement_value": "1.0000",
}
STATS = {"type": "stats", "ts": 1776664837.8277724, "ticker": T, "last_price": None}


def _write(tmp_path: Path, *records: dict[str, Any] | str) -> Path:
    path = tmp_path / "capture.jsonl"
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_line_type_becomes_its_current_frame(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _meta(),
        _snap(2, [["0.9540", "80.00"]], [["0.0110", "10.00"]]),
        _delta(6, "0.4600", "69.31"),
        TRADE,
        TICKER,
        STATS,
        DETERMINED,
    )
    frames = list(read_capture(path))
    assert [(f.kind, f.line_no, f.conn) for f in frames] == [
        ("snapshot", 2, 0),
        ("delta", 3, 0),
        ("trade", 4, 0),
        ("ticker", 5, 0),
        ("lifecycle", 7, 0),
    ]
    snap, delta, trade, ticker, lifecycle = (parse_frame(f.raw, f.recv_ns) for f in frames)
    assert isinstance(snap, BookSnapshot)
    assert (snap.sid, snap.seq, snap.yes_bids, snap.no_bids) == (1, 2, ((9_540, 8_000),), ((110, 1_000),))
    assert isinstance(delta, BookDelta)
    assert (delta.sid, delta.seq, delta.side, delta.price_ticks, delta.delta_units) == (
        1,
        6,
        Side.YES,
        4_600,
        6_931,
    )
    assert delta.ts_exchange_ms == 1776664545094
    assert isinstance(trade, Trade)
    assert (trade.sid, trade.seq, trade.yes_price_ticks, trade.count_units, trade.taker_side) == (
        2,
        3,
        9_810,
        350,
        Side.NO,
    )
    assert trade.ts_exchange_ms == 1776664538000
    assert isinstance(ticker, TickerUpdate)
    assert (
        ticker.yes_bid_ticks,
        ticker.yes_bid_size_units,
        ticker.yes_ask_ticks,
        ticker.yes_ask_size_units,
    ) == (
        9_620,
        10_000,
        9_900,
        12_922,
    )
    assert ticker.ts_exchange_ms == 1776664538167
    assert isinstance(lifecycle, LifecycleEvent)
    assert (lifecycle.sid, lifecycle.seq, lifecycle.result, lifecycle.settlement_ticks) == (
        3,
        20,
        "yes",
        10_000,
    )


def test_receive_times_are_exact_nanoseconds(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _snap(2, [], []),
        _delta(3, "0.5000", "1.00", ts="2026-04-20T05:55:37.333843Z"),
        _delta(4, "0.5000", "1.00", ts="2026-04-20T05:58:05Z"),
        _delta(5, "0.5000", "1.00", ts="2026-04-20T05:59:59.15127Z"),
        TRADE,
        TICKER,
        DETERMINED,
    )
    assert [f.recv_ns for f in read_capture(path)] == [
        1_776_664_537_639_332_000,  # local receive time of the snapshot
        1_776_664_537_333_843_000,  # Kalshi's delta time, earlier than the snapshot: order kept
        1_776_664_685_000_000_000,
        1_776_664_799_151_270_000,
        1_776_664_538_000_000_000,
        1_776_664_538_167_226_000,
        1_776_664_878_107_344_400,
    ]


def test_delta_keeps_the_captures_rfc3339_ts_and_derives_ts_ms(tmp_path: Path) -> None:
    path = _write(tmp_path, _snap(2, [], []), _delta(3, "0.5000", "1.00", ts="2026-04-20T05:55:37.333843Z"))
    msg = json.loads(list(read_capture(path))[1].raw)["msg"]
    assert msg["ts"] == "2026-04-20T05:55:37.333843Z"
    assert msg["ts_ms"] == 1776664537333
    assert msg["market_id"] == MID


def test_snapshot_gets_its_market_id_from_a_later_line_and_omits_empty_sides(tmp_path: Path) -> None:
    path = _write(tmp_path, _snap(2, [["0.5000", "1.00"]], []), _delta(3, "0.5000", "1.00"))
    msg = json.loads(next(read_capture(path)).raw)["msg"]
    assert msg == {"market_ticker": T, "market_id": MID, "yes_dollars_fp": [["0.5000", "1.00"]]}


def test_snapshot_whose_seq_goes_back_starts_a_new_connection(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _snap(2, [], []),
        _delta(6, "0.5000", "1.00"),
        _delta(1994, "0.5000", "1.00"),
        _meta(),
        _snap(2, [], []),  # the repeated block
        _delta(6, "0.5000", "1.00"),
        _snap(1995, [], []),  # continues the sequence: same connection
        _snap(1995, [], []),  # does not advance it: another connection
    )
    assert [f.conn for f in read_capture(path)] == [0, 0, 0, 1, 1, 1, 2]


def test_snapshot_with_seq_below_the_highest_delta_starts_a_new_connection(tmp_path: Path) -> None:
    path = _write(tmp_path, _snap(10, [], []), _delta(50, "0.5000", "1.00"), _snap(40, [], []))
    assert [f.conn for f in read_capture(path)] == [0, 0, 1]


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path, _snap(2, [], []), "", _delta(3, "0.5000", "1.00"))
    assert [f.line_no for f in read_capture(path)] == [1, 3]


def test_missing_capture_file_is_a_data_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="capture file not found"):
        list(read_capture(tmp_path / "nope.jsonl"))
    with pytest.raises(DataNotFoundError):
        read_market_info(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"type": "orderbook_delta"}), "unknown capture line type 'orderbook_delta'"),
        (json.dumps({"type": "delta", "ticker": T, "seq": 3}), "malformed delta line"),
        (json.dumps(_delta(3, "0.5000", "1.00", ts="yesterday")), "malformed delta line"),
        (json.dumps({**TRADE, "taker_side": "maybe"}), "malformed trade line"),
        (json.dumps(_snap(3, [["0.5000"]], [])), "malformed snapshot line"),
        (json.dumps(_snap(3, [], [], ts="2026-04-20T05:55:37Z")), "malformed snapshot line"),
    ],
)
def test_bad_line_names_the_file_and_line(tmp_path: Path, bad: str, message: str) -> None:
    path = _write(tmp_path, _snap(2, [], []), bad)
    with pytest.raises(InvalidValueError, match=f"capture.jsonl:2: {message}"):
        list(read_capture(path))


def test_market_info_takes_the_last_meta_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _meta(),
        _snap(2, [], []),
        _meta(status="finalized", result="yes", ts=1776664878.1073444),
    )
    info = read_market_info(path)
    assert (info.ticker, info.status, info.result, info.title) == (
        T,
        "finalized",
        "yes",
        "ETH price up in next 15 mins?",
    )
    assert (info.open_time_ms, info.close_time_ms, info.expiration_time_ms) == (
        1776663900000,
        1776664800000,
        1777269600000,
    )
    assert info.fetched_ns == 1_776_664_878_107_344_400


def test_capture_without_meta_has_no_market_info(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="no meta line"):
        read_market_info(_write(tmp_path, _snap(2, [], [])))


def test_a_missing_real_capture_skips_locally_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="real Kalshi capture not found"):
        real_capture("no-such-capture.jsonl")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="real Kalshi capture not found"):
        real_capture("no-such-capture.jsonl")


def test_real_captures_are_found_from_the_repo_and_by_name() -> None:
    assert real_capture() == CAPTURES
    assert real_capture("KXETH15M-26APR200200-00.jsonl").stat().st_size == 696_638
