"""Lifecycle, event and fee frames: into the shared status, into the lake, and back out by replay.

Frames go through ``OrderbookClient`` (the collector's handler) into a real lake; the lake is
read back by ``preload_lake`` (``MarketMeta``) and by ``inspect data``'s summaries.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from kalshi_rl.core.events import MarketInfo, Side
from kalshi_rl.core.fee_schedule import DEFAULT_FEE_SCHEDULE, FeeSchedule, FeeSource, FeeType
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.market_summary import events_summary, market_summaries
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.data.replay.lake import preload_lake
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.feed import FeedBreak
from kalshi_rl.kalshi.messages import parse_frame
from tests.cli_support import run_cli

A, B = "KX-EV-A", "KX-EV-B"
EVENT = "KX-EV"
T0 = 1_776_664_537_000_000_000
SECOND = 1_000_000_000
SERIES = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1), FeeSource.SERIES)
OVERRIDE = FeeSchedule(FeeType.QUADRATIC, Fraction(1, 2), FeeSource.EVENT_OVERRIDE)


def fee_frame(seq: int, fee_type: str | None, multiplier: float | None) -> str:
    msg = {"event_ticker": EVENT, "fee_type_override": fee_type, "fee_multiplier_override": multiplier}
    return json.dumps({"type": "event_fee_update", "sid": 3, "seq": seq, "msg": msg})


EVENT_CREATED = json.dumps(
    {
        "type": "event_lifecycle",
        "sid": 3,
        "seq": 1,
        "msg": {
            "event_ticker": EVENT,
            "exchange_index": 2,
            "title": "t",
            "subtitle": "s",
            "collateral_return_type": "",
            "series_ticker": "KX",
        },
    }
)


@pytest.fixture
async def lake(tmp_path: Path) -> tuple[Path, dict[str, SharedOrderbookState], OrderbookClient]:
    books = {A: SharedOrderbookState(A), B: SharedOrderbookState(B)}
    root = tmp_path / "lake"  # DATA_DIR/lake, as `kalshi-rl inspect data --data-dir` reads it
    queue = OrderbookWriteQueue([LakeSink(LakeWriter(root, "s"))], WriteQueueConfig())
    client = OrderbookClient(books, queue, "s", T0 // 1_000_000)
    client.on_connected(1)
    for market in (A, B):
        market_info = MarketInfo(
            market, "active", None, 1_776_665_000_000, None, event_ticker=EVENT, price_ranges=((0, 10_000, 100),),
            fetched_ns=T0,
        )  # fmt: skip
        client.record_market_info(market_info, "KX", SERIES, None)
    stream = [
        (0, encode.snapshot_frame(1, 1, A, "a", [(5_000, 100)], [(4_000, 100)])),
        (1, encode.delta_frame(1, 2, A, "a", Side.YES, 5_000, 10, 0)),
        (2, EVENT_CREATED),
        (3, encode.lifecycle_frame(3, 2, A, "deactivated", is_deactivated=True)),
        (4, encode.lifecycle_frame(3, 3, A, "deactivated", is_deactivated=False)),
        (5, fee_frame(4, "quadratic", 0.5)),
        (6, encode.lifecycle_frame(3, 5, A, "close_date_updated", close_ts=1_776_666_000)),
        (
            7,
            encode.lifecycle_frame(
                3,
                6,
                A,
                "price_level_structure_updated",
                price_level_structure="deci_cent",
                price_ranges=[{"start": "0.0000", "end": "1.0000", "step": "0.0010"}],
            ),
        ),
        (8, encode.delta_frame(1, 3, A, "a", Side.YES, 5_000, 10, 0)),
        (9, fee_frame(7, None, None)),
        (10, encode.lifecycle_frame(3, 8, A, "metadata_updated", yes_sub_title="above $95,000")),
        (
            11,
            encode.lifecycle_frame(
                3, 9, A, "determined", result="no", settlement_value="0.0000", determination_ts=1
            ),
        ),
        (12, encode.delta_frame(1, 4, A, "a", Side.YES, 5_000, 10, 0)),
    ]
    for second, raw in stream:
        client.on_event(parse_frame(raw, T0 + second * SECOND), raw)  # type: ignore[arg-type]
    client.on_break(
        FeedBreak("unsubscribable", "orderbook_delta", None, (B,), T0, detail="orderbook_delta error 11: x")
    )
    await queue.close()
    return root, books, client


async def test_the_status_follows_every_frame(
    lake: tuple[Path, dict[str, SharedOrderbookState], OrderbookClient],
) -> None:
    _, books, client = lake
    a, b = books[A].status, books[B].status
    assert (a.phase, a.result, a.close_time_ms, a.price_ranges) == (
        "determined",
        "no",
        1_776_666_000_000,
        ((0, 10_000, 10),),
    )
    assert a.fees == b.fees == SERIES  # the override was set, then cleared
    assert (client.stats[A].phase, client.stats[A].lifecycle) == ("determined", 6)
    assert client.stats[B].unsubscribable == "orderbook_delta error 11: x"
    assert client.event_frames == 3


async def test_lifecycle_and_event_frames_are_stored_with_their_place_in_the_stream(
    lake: tuple[Path, dict[str, SharedOrderbookState], OrderbookClient],
) -> None:
    root, _, _ = lake
    con = duckdb.connect()
    lifecycle = con.execute(
        f"SELECT event_type, sid, seq, is_deactivated, price_ranges, close_ts_ms FROM "
        f"read_parquet('{root}/lifecycle/**/*.parquet') ORDER BY seq"
    ).fetchall()
    assert [row[:4] for row in lifecycle] == [
        ("deactivated", 3, 2, True),
        ("deactivated", 3, 3, False),
        ("close_date_updated", 3, 5, None),
        ("price_level_structure_updated", 3, 6, None),
        ("metadata_updated", 3, 8, None),
        ("determined", 3, 9, None),
    ]
    assert lifecycle[3][4] == "[[0, 10000, 10]]" and lifecycle[2][5] == 1_776_666_000_000
    events = con.execute(
        f"SELECT type, seq, event_ticker, series_ticker, fee_type, fee_multiplier FROM "
        f"read_parquet('{root}/events/**/*.parquet') ORDER BY seq"
    ).fetchall()
    assert events == [
        ("event_lifecycle", 1, EVENT, "KX", None, None),
        ("event_fee_update", 4, EVENT, None, "quadratic", "0.5"),
        ("event_fee_update", 7, EVENT, None, None, None),
    ]
    markets = con.execute(
        f"SELECT market_ticker, series_ticker, event_ticker, fee_type, fee_multiplier, fee_source FROM "
        f"read_parquet('{root}/markets/**/*.parquet', hive_partitioning=true) ORDER BY 1"
    ).fetchall()
    assert markets == [
        (A, "KX", EVENT, "quadratic_with_maker_fees", "1", "series"),
        (B, "KX", EVENT, "quadratic_with_maker_fees", "1", "series"),
    ]


async def test_replay_meta_has_the_latest_close_grid_and_the_fee_changes(
    lake: tuple[Path, dict[str, SharedOrderbookState], OrderbookClient],
) -> None:
    root, _, _ = lake
    data = preload_lake(root, (A,), T0, T0 + 20 * SECOND)
    meta = data.meta[A]
    assert meta.close_time_ms == 1_776_666_000_000  # close_date_updated, not the REST close
    assert meta.price_ranges == ((0, 10_000, 10),)
    assert (meta.result, meta.settlement_ticks) == ("no", 0)
    assert meta.fees == ((T0, SERIES), (T0 + 5 * SECOND, OVERRIDE), (T0 + 9 * SECOND, SERIES))
    assert meta.fee_at(T0 + 6 * SECOND) == OVERRIDE and meta.fee_at(T0 + 10 * SECOND) == SERIES
    # A window that starts inside the override sees it in force from its start.
    later = preload_lake(root, (A,), T0 + 7 * SECOND, T0 + 20 * SECOND).meta[A]
    assert later.fees == ((T0 + 7 * SECOND, OVERRIDE), (T0 + 9 * SECOND, SERIES))
    # A window that ends before the close date changed knows only the REST close time.
    early = preload_lake(root, (A,), T0, T0 + 2 * SECOND).meta[A]
    assert early.close_time_ms == 1_776_665_000_000 and early.price_ranges == ((0, 10_000, 100),)


async def test_the_lake_breaks_a_segment_on_the_new_break_kinds(tmp_path: Path) -> None:
    books = {A: SharedOrderbookState(A)}
    queue = OrderbookWriteQueue([LakeSink(LakeWriter(tmp_path, "s"))], WriteQueueConfig())
    client = OrderbookClient(books, queue, "s", T0 // 1_000_000)
    client.on_connected(1)
    for second, raw in [
        (0, encode.snapshot_frame(1, 1, A, "a", [(5_000, 100)], [(4_000, 100)])),
        (1, encode.delta_frame(1, 2, A, "a", Side.YES, 5_000, 10, 0)),
        (3, encode.delta_frame(1, 3, A, "a", Side.YES, 5_000, 10, 0)),
    ]:
        client.on_event(parse_frame(raw, T0 + second * SECOND), raw)  # type: ignore[arg-type]
        if second == 1:
            client.on_break(FeedBreak("unreadable", "orderbook_delta", 1, (A,), T0 + 2 * SECOND, detail="x"))
    await queue.close()
    (segment,) = preload_lake(tmp_path, (A,), T0, T0 + 10 * SECOND).segments
    assert (segment.end_ns, segment.end_reason, segment.deltas) == (T0 + 2 * SECOND, "break", 1)


async def test_inspect_summaries(lake: tuple[Path, dict[str, SharedOrderbookState], OrderbookClient]) -> None:
    root, _, _ = lake
    reader = LakeReader(root)
    summaries = market_summaries(reader)
    a, b = summaries[A], summaries[B]
    assert a.phase == "determined" and b.phase == "active"
    assert [kind for _, kind in a.lifecycle] == [
        "deactivated",
        "deactivated",
        "close_date_updated",
        "price_level_structure_updated",
        "metadata_updated",
        "determined",
    ]
    assert a.close_time_ms == 1_776_666_000_000
    assert a.fee == "quadratic_with_maker_fees x 1 (series)"
    assert b.unsubscribable == "orderbook_delta error 11: x" and not a.unsubscribable
    events = events_summary(reader)
    assert events.by_type == {"event_fee_update": 2, "event_lifecycle": 1}
    assert [(e, t, m) for _, e, t, m in events.fee_updates] == [
        (EVENT, "quadratic", "0.5"),
        (EVENT, None, None),
    ]


def test_default_fees_when_nothing_is_known() -> None:
    from kalshi_rl.data.replay.lake import MarketMeta

    assert MarketMeta("KX").fee_at(T0) == DEFAULT_FEE_SCHEDULE


async def test_inspect_data_shows_each_markets_life(
    lake: tuple[Path, dict[str, SharedOrderbookState], OrderbookClient],
) -> None:
    root, _, _ = lake
    report = json.loads(run_cli("inspect", "data", "--data-dir", str(root.parent), "--json").stdout)
    a, b = report["markets"][A], report["markets"][B]
    assert a["phase"] == "determined" and b["phase"] == "active"
    assert [e["event_type"] for e in a["lifecycle"]][:2] == ["deactivated", "deactivated"]
    assert a["close_time_ms"] == 1_776_666_000_000 and a["fee"] == "quadratic_with_maker_fees x 1 (series)"
    assert b["unsubscribable"] == "orderbook_delta error 11: x" and a["unsubscribable"] is None
    assert report["events"]["by_type"] == {"event_fee_update": 2, "event_lifecycle": 1}
    assert report["events"]["fee_updates"][1] == {
        "ts_recv_ns": T0 + 9 * SECOND,
        "event_ticker": EVENT,
        "fee_type": None,
        "fee_multiplier": None,
    }
    table = run_cli("inspect", "data", "--data-dir", str(root.parent))
    assert table.returncode == 0, table.stderr
    assert "UNSUBSCRIBABLE" in table.stdout and "determined" in table.stdout
    assert "override cleared" in table.stdout and "event_lifecycle 1" in table.stdout
