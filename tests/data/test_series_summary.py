"""``inspect data --series``: per market of a series, open-to-close coverage, settlement,
gaps, resyncs, rows and bytes, from frames fed through the collector's handler into a lake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kalshi_rl.core.errors import DataNotFoundError
from kalshi_rl.core.events import MarketInfo, Side
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.orderbook_client import OrderbookClient
from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.ingest.write_queue import OrderbookWriteQueue, WriteQueueConfig
from kalshi_rl.data.lake.compact import compact_lake
from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.lake.series_summary import series_markets
from kalshi_rl.data.lake.writer import LakeWriter
from kalshi_rl.kalshi import encode
from kalshi_rl.kalshi.feed import FeedBreak
from kalshi_rl.kalshi.messages import parse_frame
from tests.cli_support import cli_env, run_cli

SERIES = "KXROLL15M"
M1, M2 = f"{SERIES}-26APR200600-00", f"{SERIES}-26APR200615-15"  # consecutive markets of the series
OTHER = "KXOTHER-26APR20-B1"
T0 = 1_776_664_800_000_000_000  # 2026-04-20T06:00:00Z: M1 opens
S = 1_000_000_000


def info(market: str, open_s: int, close_s: int) -> MarketInfo:
    return MarketInfo(
        market, "active", (T0 + open_s * S) // 10**6, (T0 + close_s * S) // 10**6, None, fetched_ns=T0
    )


@pytest.fixture
async def lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"  # DATA_DIR/lake, as `inspect data --data-dir` reads it
    books = {m: SharedOrderbookState(m) for m in (M1, M2, OTHER)}
    queue = OrderbookWriteQueue([LakeSink(LakeWriter(root, "s"))], WriteQueueConfig())
    client = OrderbookClient(books, queue, "s", T0 // 1_000_000)
    client.on_connected(1)
    client.record_market_info(info(M1, 0, 100), SERIES)
    client.record_market_info(info(M2, 100, 200), SERIES)
    client.record_market_info(info(OTHER, 0, 1000), "KXOTHER")
    level = [(4_000, 100)]  # YES 0.40 and NO 0.40: the deltas below never cross

    def feed(at_s: float, raw: str) -> None:
        client.on_event(parse_frame(raw, T0 + int(at_s * S)), raw)  # type: ignore[arg-type]

    feed(-5, encode.snapshot_frame(1, 1, M1, "m1", level, level))  # subscribed before the open
    feed(10, encode.delta_frame(1, 2, M1, "m1", Side.YES, 4_000, 10, 0))
    client.on_break(FeedBreak("gap", "orderbook_delta", 1, (M1,), T0 + 40 * S, 4, 6))  # book unknown...
    feed(50, encode.snapshot_frame(1, 7, M1, "m1", level, level))  # ...until this resync
    feed(90, encode.delta_frame(1, 8, M1, "m1", Side.NO, 4_000, 5, 0))
    feed(101, encode.lifecycle_frame(3, 1, M1, "determined", result="yes", settlement_value="1.0000"))
    feed(110, encode.lifecycle_frame(3, 2, M1, "settled", settled_ts=1))
    feed(130, encode.snapshot_frame(1, 9, M2, "m2", level, level))  # recorded 30 s after its open...
    feed(150, encode.delta_frame(1, 10, M2, "m2", Side.YES, 4_000, 1, 0))  # ...until 50 s after
    feed(0, encode.snapshot_frame(1, 11, OTHER, "o", level, level))
    await queue.close()
    return root


def test_each_market_of_the_series_has_its_coverage_settlement_and_counts(lake: Path) -> None:
    first, second = series_markets(LakeReader(lake), SERIES)

    assert (first.market_ticker, second.market_ticker) == (M1, M2)  # by open time; OTHER is not in it
    assert first.coverage == pytest.approx(0.9)  # open..gap 40 s + resync..close 50 s of 100 s
    assert (first.gaps, first.resyncs, first.settled_ns, first.phase) == (1, 1, T0 + 110 * S, "settled")
    assert (first.first_ns, first.last_ns) == (T0 - 5 * S, T0 + 110 * S)
    assert dict(first.rows) == {"snapshots": 2, "deltas": 2, "lifecycle": 2, "markets": 1, "book_events": 2}
    assert first.bytes == sum(p.stat().st_size for p in lake.glob(f"*/market_ticker={M1}/*/*.parquet"))
    assert second.coverage == pytest.approx(0.2)  # 130..150 s of 100..200 s
    assert (second.settled_ns, second.phase, second.gaps) == (None, "active", 0)


def test_compaction_leaves_the_summary_unchanged(lake: Path) -> None:
    before = series_markets(LakeReader(lake), SERIES)
    compact_lake(lake)
    after = series_markets(LakeReader(lake), SERIES)
    assert [(m.coverage, dict(m.rows), m.settled_ns) for m in after] == [
        (m.coverage, dict(m.rows), m.settled_ns) for m in before
    ]


def test_an_unknown_series_names_the_series_the_lake_holds(lake: Path) -> None:
    with pytest.raises(
        DataNotFoundError, match=f"no market of series KXNOPE .*series in it: KXOTHER, {SERIES}"
    ):
        series_markets(LakeReader(lake), "KXNOPE")


def test_the_cli_prints_every_market_whole_in_80_columns_and_as_json(lake: Path) -> None:
    data_dir = str(lake.parent)
    narrow = cli_env() | {"COLUMNS": "80"}
    result = run_cli("inspect", "data", "--series", SERIES, "--data-dir", data_dir, env=narrow)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout and max(len(line) for line in result.stdout.splitlines()) <= 80
    for text in (M1, M2, "90.0%", "20.0%", "06:00:00–06:01:40", "05:59:55–06:01:50"):
        assert text in result.stdout, text
    assert OTHER not in result.stdout
    assert "2 market(s) of KXROLL15M: 1 settled, 0 with the book known over 99.9 %" in " ".join(
        result.stdout.split()
    )

    as_json = json.loads(
        run_cli("inspect", "data", "--series", SERIES, "--json", "--data-dir", data_dir).stdout
    )
    assert [(m["market_ticker"], m["coverage"], m["gaps"]) for m in as_json["markets"]] == [
        (M1, 0.9, 1),
        (M2, 0.2, 0),
    ]
    assert as_json["totals"]["settled"] == 1 and as_json["totals"]["rows"] == 9 + 3

    unknown = run_cli("inspect", "data", "--series", "KXNOPE", "--data-dir", data_dir)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "no market of series KXNOPE" in " ".join(unknown.stderr.split())
