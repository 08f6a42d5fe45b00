"""``lake compact``: rows, their order and readers' view kept; crash-safe; idempotent; live
partitions untouched; one maintainer at a time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.lake.compact import compact_lake
from kalshi_rl.data.lake.files import busy_partitions, partitions, readable_files
from kalshi_rl.data.lake.tables import DELTAS, SNAPSHOTS, rows_to_table
from kalshi_rl.data.lake.writer import LakeWriter
from tests.cli_support import run_cli
from tests.data.lake_support import (
    DAY0,
    file_state,
    hidden_or_intent,
    parquet_files,
    read_rows,
    session_id,
    write_lake,
)

flushes = st.lists(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(1, 40)), min_size=1, max_size=4),
    min_size=1,
    max_size=4,
)


def seqs_by_market(rows: list[tuple[object, ...]]) -> dict[object, list[object]]:
    """Per market and day, the seqs in the order a reader reads them (deltas: column 6; the
    hive date last)."""
    out: dict[object, list[object]] = {}
    for row in rows:
        out.setdefault((row[0], row[-1]), []).append(row[6])
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sessions=st.lists(flushes, min_size=1, max_size=3), target_kb=st.sampled_from([1, 4, 64, 4096]))
def test_compaction_keeps_every_row_in_order_and_reduces_files(
    tmp_path: Path, sessions: list[list[list[tuple[int, int, int]]]], target_kb: int
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        root = Path(tmp)
        write_lake(root, sessions)
        before = {t: read_rows(root, t) for t in ("deltas", "frames")}
        files_before = {p: len(readable_files(root / p.relative)) for p in partitions(root)}

        report = compact_lake(root, target_bytes=target_kb * 1024)

        after = {t: read_rows(root, t) for t in ("deltas", "frames")}
        assert after == before  # the same rows, in the same order, as DuckDB reads them
        assert Counter(after["deltas"]) == Counter(before["deltas"])
        for market, seqs in seqs_by_market(after["deltas"]).items():
            assert seqs == sorted(seqs), market  # each market's stream order
        files_after = {p: len(readable_files(root / p.relative)) for p in partitions(root)}
        assert files_after.keys() == files_before.keys()
        for partition, n in files_after.items():
            assert n <= files_before[partition], partition
        if target_kb == 4096:  # bigger than any partition: each ends as one file
            assert set(files_after.values()) == {1}
            assert sum(files_after.values()) < sum(files_before.values()) or set(files_before.values()) == {1}
        assert report.files_before - report.files_after == sum(files_before.values()) - sum(
            files_after.values()
        )
        assert not hidden_or_intent(root)


def test_outputs_are_near_the_target_size_and_sort_where_their_inputs_did(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 400)]] * 12])
    (partition,) = [p for p in partitions(tmp_path) if p.table == "deltas"]
    inputs = readable_files(tmp_path / partition.relative)
    total = sum(f.stat().st_size for f in inputs)
    before = read_rows(tmp_path, "deltas")

    target = -(-total // 3)
    report = compact_lake(tmp_path, target_bytes=target, tables=("deltas",))

    outputs = readable_files(tmp_path / partition.relative)
    assert len(inputs) == 12 and len(outputs) == 3
    assert [f.name for f in outputs] == [f"{inputs[0].stem}.c0001-{k:04d}.parquet" for k in range(3)]
    assert all(f.stat().st_size <= target for f in outputs)
    assert [pq.read_metadata(f).num_rows for f in outputs] == [1600, 1600, 1600]
    assert read_rows(tmp_path, "deltas") == before
    assert report.compacted[0].rows == 4800


def test_outputs_use_the_compact_encodings_and_keep_list_columns(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 50)], [(0, 0, 50)]]])
    for session, seqs in ((7, (1, 2)), (8, (3,))):  # snapshot files (list columns), one of them late
        writer = LakeWriter(tmp_path, session_id(session))
        for seq in seqs:
            row = ("KXA-1", None, DAY0 + seq, session_id(session), 1, 1, seq, seq, [40, 41], [5, 6], [58], [7], 1, False)  # fmt: skip
            writer.write("snapshots", rows_to_table(SNAPSHOTS, [row]))
            writer.rotate(force=True)
        writer.close()
        snapshots = read_rows(tmp_path, "snapshots")

        compact_lake(tmp_path)  # the second time: a compacted file and a collector's file merged

        assert read_rows(tmp_path, "snapshots") == snapshots
        assert len(parquet_files(tmp_path / "snapshots")) == 1
    (output,) = readable_files(tmp_path / "deltas" / "market_ticker=KXA-1" / "date=2026-04-20")
    group = pq.read_metadata(output).row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert "DELTA_BINARY_PACKED" in columns["ts_recv_ns"].encodings
    assert "BYTE_STREAM_SPLIT" in columns["delta_units"].encodings
    assert columns["ts_recv_ns"].compression == "ZSTD" and columns["ts_recv_ns"].is_stats_set
    assert not columns["price_ticks"].is_stats_set


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 20), (1, 1, 20)], [(0, 0, 20), (1, 1, 5)]], [[(0, 0, 3)]]])
    first = compact_lake(tmp_path)
    assert first.compacted and first.files_after < first.files_before
    state = file_state(tmp_path)

    second = compact_lake(tmp_path)

    assert second.compacted == [] and second.recovered == 0
    assert second.unchanged == len(partitions(tmp_path))
    assert file_state(tmp_path) == state  # same files: same inodes, sizes, times


def test_a_late_file_gets_the_partition_recompacted_in_stream_order(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 30)], [(0, 0, 30)]]])
    compact_lake(tmp_path)
    write_lake(tmp_path, [[[(0, 0, 30)]]], first_session=5)  # its seqs restart: a new stream
    before = read_rows(tmp_path, "deltas")

    report = compact_lake(tmp_path, tables=("deltas",))

    assert [r.files_before for r in report.compacted] == [2]
    (output,) = readable_files(tmp_path / report.compacted[0].partition.relative)
    assert output.name.endswith(".c0002-0000.parquet")
    assert read_rows(tmp_path, "deltas") == before


def test_files_missing_a_newer_column_are_merged_with_nulls(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 10)], [(0, 0, 10)]]])
    directory = tmp_path / next(p for p in partitions(tmp_path) if p.table == "deltas").relative
    first = readable_files(directory)[0]
    pq.write_table(pq.read_table(first).drop_columns(["size_after"]), first)  # an older writer's file
    before = read_rows(tmp_path, "deltas")

    compact_lake(tmp_path, tables=("deltas",))

    assert read_rows(tmp_path, "deltas") == before
    (output,) = readable_files(directory)
    assert pq.read_schema(output).field("size_after").type == pa.int64()


def test_partitions_a_live_collector_writes_are_left_alone(tmp_path: Path) -> None:
    write_lake(tmp_path, [[[(0, 0, 10)], [(0, 0, 10)], [(1, 0, 10)], [(1, 0, 10)]]])
    live = LakeWriter(tmp_path, session_id(9))  # holds its session lock, like a running collector
    rows = [("KXB-2", None, DAY0 + i, session_id(9), 1, 2, 1000 + i, 101, "no", 40, 1, 1) for i in range(5)]
    live.write("deltas", rows_to_table(DELTAS, rows))
    busy = busy_partitions(tmp_path)
    assert [b.as_posix() for b in busy if b.parts[0] == "deltas"] == [
        "deltas/market_ticker=KXB-2/date=2026-04-20"
    ]
    market_b = tmp_path / "deltas" / "market_ticker=KXB-2"
    live_state = {k: v for k, v in file_state(tmp_path).items() if "KXB-2" in k or "_journal" in k}

    report = compact_lake(tmp_path)

    assert [str(p) for p in report.busy if p.table == "deltas"] == [
        "deltas/market_ticker=KXB-2/date=2026-04-20"
    ]
    assert {k: v for k, v in file_state(tmp_path).items() if "KXB-2" in k or "_journal" in k} == live_state
    assert len(readable_files(tmp_path / "deltas" / "market_ticker=KXA-1" / "date=2026-04-20")) == 1
    live.close()  # the collector finishes normally afterwards
    assert len(list(market_b.rglob("*.parquet"))) == 3
    assert len(read_rows(tmp_path, "deltas")) == 45


HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kalshi_rl.data.lake.lock import MaintenanceLock

    with MaintenanceLock(Path(sys.argv[1]), "lake prune"):
        print("held", flush=True)
        sys.stdin.read()
    """
)


def test_a_second_maintainer_is_refused_while_one_runs(tmp_path: Path) -> None:
    root = tmp_path / "lake"  # DATA_DIR/lake, as the CLI's --data-dir reads it
    write_lake(root, [[[(0, 0, 10)], [(0, 0, 10)]]])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        state = file_state(root)
        with pytest.raises(
            StorageError, match=rf"being maintained by pid {holder.pid} \(`kalshi-rl lake prune`"
        ):
            compact_lake(root)
        for command in (["compact"], ["prune", "--keep-days", "7"]):
            result = run_cli("lake", *command, "--data-dir", str(tmp_path))
            assert result.returncode == 1, result.stdout
            message = " ".join(result.stderr.split())
            assert message.startswith("error: the lake at") and f"pid {holder.pid}" in message, message
            assert "one compact or prune at a time" in message and "Traceback" not in result.stderr
        assert file_state(root) == state
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    assert compact_lake(root).compacted  # released when its holder ends


CRASH_AT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from kalshi_rl.data.lake.compact import compact_lake

    stop, calls = int(sys.argv[2]), []

    def hook(step, name):
        calls.append(step)
        if len(calls) == stop:
            print(step, name, flush=True)
            os._exit(17)  # a crash: no cleanup, no finally

    compact_lake(Path(sys.argv[1]), tables=("deltas",), on_step=hook)
    print("finished", len(calls), flush=True)
    """
)


def crash_compaction(root: Path, at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CRASH_AT, str(root), str(at)], capture_output=True, text=True, timeout=120
    )


def test_a_crash_at_any_step_leaves_every_row_readable_and_the_next_run_completes(tmp_path: Path) -> None:
    template = tmp_path / "template"
    write_lake(template, [[[(0, 0, 30), (1, 0, 30)], [(0, 0, 30), (1, 0, 30)], [(0, 0, 30)]]])
    expected = read_rows(template, "deltas")
    dry = tmp_path / "dry"
    shutil.copytree(template, dry)
    full = crash_compaction(dry, 0)
    assert full.returncode == 0, full.stderr
    steps = int(full.stdout.split()[-1])  # 2 partitions: 3 and 2 inputs, 1 output each
    assert steps == (1 + 1 + 1 + 3 + 1) + (1 + 1 + 1 + 2 + 1)
    seen = set()
    for at in range(1, steps + 1):
        lake = tmp_path / f"crash{at}"
        shutil.copytree(template, lake)
        crashed = crash_compaction(lake, at)
        assert crashed.returncode == 17, crashed.stderr
        seen.add(crashed.stdout.split()[0])
        assert read_rows(lake, "deltas") == expected, f"after a crash at {crashed.stdout}"

        report = compact_lake(lake, tables=("deltas",))

        assert read_rows(lake, "deltas") == expected, f"recovered from {crashed.stdout}"
        assert not hidden_or_intent(lake)
        assert all(len(readable_files(lake / p.relative)) == 1 for p in partitions(lake, ("deltas",)))
        assert len(parquet_files(lake / "deltas")) == 2
        interrupted = not crashed.stdout.startswith("done")
        assert report.recovered == int(interrupted), crashed.stdout
        shutil.rmtree(lake)
    assert seen == {"written", "intent", "renamed", "removed", "done"}


def test_the_cli_compacts_and_says_what_it_did(tmp_path: Path) -> None:
    write_lake(tmp_path / "lake", [[[(0, 0, 10), (1, 0, 10)], [(0, 0, 10)]]])

    result = run_cli("lake", "compact", "--json", "--data-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(
        (c["partition"], c["files_before"], c["files_after"], c["rows"]) for c in report["compacted"]
    ) == [
        ("deltas/market_ticker=KXA-1/date=2026-04-20", 2, 1, 20),
        ("frames/date=2026-04-20", 2, 1, 30),
    ]
    assert (report["unchanged"], report["busy"], report["recovered"]) == (1, [], 0)
    table = run_cli("lake", "compact", "--data-dir", str(tmp_path))
    assert (
        table.returncode == 0
        and "nothing to compact" in table.stdout
        and "3 partition(s) already compact" in table.stdout
    )
