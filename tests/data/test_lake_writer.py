"""The lake writer: partitions, rotation, atomic files, crash recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from kalshi_rl.data.lake.tables import DELTAS, FRAMES, rows_to_table
from kalshi_rl.data.lake.writer import JOURNAL_DIR, LakeWriter, recover_journals

DAY1 = 1_776_664_537_000_000_000  # 2026-04-20
DAY2 = DAY1 + 86_400 * 10**9


def delta_rows(market: str, start_seq: int, n: int, ts_ns: int = DAY1) -> list[tuple[object, ...]]:
    return [
        (market, None, ts_ns + i, "s1", 1, 1, start_seq + i, 7, "yes", 5600, 100 + i, 200 + i)
        for i in range(n)
    ]


def read_deltas(root: Path) -> list[tuple[object, ...]]:
    return duckdb.sql(
        f"SELECT market_ticker, date::VARCHAR, seq FROM read_parquet('{root}/deltas/**/*.parquet', hive_partitioning=true) ORDER BY seq"
    ).fetchall()


def test_rows_land_in_market_and_date_partitions(tmp_path: Path) -> None:
    writer = LakeWriter(tmp_path, "s1")
    rows = delta_rows("AAA-1", 1, 3) + delta_rows("BBB-2", 4, 2) + delta_rows("AAA-1", 6, 1, DAY2)
    writer.write("deltas", rows_to_table(DELTAS, rows))
    writer.close()
    files = sorted(p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == [
        "deltas/market_ticker=AAA-1/date=2026-04-20",
        "deltas/market_ticker=AAA-1/date=2026-04-21",
        "deltas/market_ticker=BBB-2/date=2026-04-20",
    ]
    assert [r[2] for r in read_deltas(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert not (tmp_path / JOURNAL_DIR / "s1").exists()


def test_files_are_zstd_parquet_with_the_table_schema(tmp_path: Path) -> None:
    writer = LakeWriter(tmp_path, "s1")
    writer.write("deltas", rows_to_table(DELTAS, delta_rows("AAA-1", 1, 5)))
    writer.close()
    (path,) = tmp_path.rglob("*.parquet")
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    assert meta.metadata.row_group(0).column(0).compression == "ZSTD"
    assert meta.schema_arrow == DELTAS.schema


def test_rotation_by_size_and_by_time_writes_several_files(tmp_path: Path) -> None:
    writer = LakeWriter(tmp_path, "s1", rotate_s=3600, rotate_bytes=1)
    for i in range(3):
        writer.write("deltas", rows_to_table(DELTAS, delta_rows("AAA-1", 1 + 10 * i, 10)))
    assert len(list(tmp_path.rglob("*.parquet"))) == 3
    timed = LakeWriter(tmp_path / "t", "s2", rotate_s=0.0)
    timed.write("deltas", rows_to_table(DELTAS, delta_rows("AAA-1", 1, 2)))
    assert timed.rotate() == 1
    assert len(list((tmp_path / "t").rglob("*.parquet"))) == 1
    writer.close()
    timed.close()


def test_a_finalised_partitions_journal_directories_go_with_it(tmp_path: Path) -> None:
    # A session of a rolling series journals thousands of market partitions: their empty
    # directories must not pile up until close (removing 19,200 of them took 11 s).
    writer = LakeWriter(tmp_path, "s1", rotate_s=0.0)
    session = tmp_path / JOURNAL_DIR / "s1"
    for i in range(20):
        writer.write("deltas", rows_to_table(DELTAS, delta_rows(f"M-{i}", 1, 2)))
        writer.rotate()
    assert len(list(tmp_path.rglob("*.parquet"))) == 20
    assert [p.name for p in session.rglob("*")] == ["LOCK"]  # the session's own lock stays until close
    writer.write("deltas", rows_to_table(DELTAS, delta_rows("OPEN-1", 1, 2)))
    assert [p.name for p in session.rglob("*.arrows")] != []  # an open journal keeps its own
    writer.close()


def test_unpartitioned_tables_split_by_date_only(tmp_path: Path) -> None:
    writer = LakeWriter(tmp_path, "s1")
    rows = [(DAY1, "s1", 1, "control", None, "{}"), (DAY2, "s1", 1, "applied", "AAA-1", "{}")]
    writer.write("frames", rows_to_table(FRAMES, rows))
    writer.close()
    dirs = sorted(p.parent.name for p in tmp_path.rglob("*.parquet"))
    assert dirs == ["date=2026-04-20", "date=2026-04-21"]


def test_a_live_sessions_journals_are_left_alone(tmp_path: Path) -> None:
    writer = LakeWriter(tmp_path, "live")
    writer.write("deltas", rows_to_table(DELTAS, delta_rows("AAA-1", 1, 4)))
    assert recover_journals(tmp_path) == 0
    assert not list(tmp_path.rglob("*.parquet"))
    writer.close()
    assert len(read_deltas(tmp_path)) == 4


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kalshi_rl.data.lake.tables import DELTAS, rows_to_table
    from kalshi_rl.data.lake.writer import LakeWriter
    sys.path.insert(0, {tests!r})
    from test_lake_writer import delta_rows
    writer = LakeWriter(Path({root!r}), "doomed", rotate_s=3600)
    for i in range(50):
        writer.write("deltas", rows_to_table(DELTAS, delta_rows("AAA-1", 1 + 100 * i, 100)))
    print("written", flush=True)
    time.sleep(60)
    """
)


def test_sigkill_leaves_a_readable_lake_and_recovery_keeps_every_flushed_row(tmp_path: Path) -> None:
    script = _KILLED_WRITER.format(tests=str(Path(__file__).parent), root=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    proc.kill()
    proc.wait()
    # Mid-session the lake holds no half-written Parquet file: DuckDB reads what is final.
    assert not list(tmp_path.rglob("*.parquet"))
    # Truncate one journal mid-batch, as a crash during a write would.
    journal = next(tmp_path.rglob("*.arrows"))
    os.truncate(journal, journal.stat().st_size - 37)
    assert recover_journals(tmp_path) == 1
    seqs = [r[2] for r in read_deltas(tmp_path)]
    assert len(seqs) == 4900  # the torn last batch is dropped, every whole batch kept
    assert seqs == sorted(set(seqs))
    assert not list((tmp_path / JOURNAL_DIR).rglob("*.arrows"))


def test_empty_table_write_is_a_no_op(tmp_path: Path) -> None:
    writer = LakeWriter(tmp_path, "s1")
    writer.write("deltas", DELTAS.schema.empty_table())
    writer.close()
    assert not list(tmp_path.rglob("*.parquet"))


def test_rows_to_table_rejects_rows_of_the_wrong_width() -> None:
    with pytest.raises(ValueError):
        rows_to_table(DELTAS, [("AAA-1", None)])


def test_rows_to_table_keeps_exact_integers() -> None:
    table = rows_to_table(DELTAS, delta_rows("AAA-1", 1, 1))
    assert table.column("price_ticks").type == pa.int32()
    assert table.column("delta_units").to_pylist() == [100]
