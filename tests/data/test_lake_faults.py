"""The lake on a failing disk: every row lands exactly once and every journal stays readable.

Faults are injected where the operating system reports them: a write to a journal file fails
with ENOSPC (optionally after a short write that put part of the bytes on disk, as the kernel
does when the disk fills mid-write), shrinking a journal fails (EIO), and the Parquet writer
that finalises a journal hits a full disk after writing part of its file. The real writer and
sink run unchanged; ``tests/integration/test_collect_disk_full.py`` fills a real disk.
"""

from __future__ import annotations

import builtins
import errno
import io
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kalshi_rl.data.ingest.sinks import LakeSink
from kalshi_rl.data.lake.tables import DELTAS, rows_to_table
from kalshi_rl.data.lake.writer import JOURNAL_DIR, LakeWriter, recover_journals
from tests.data.test_lake_writer import delta_rows

_NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FlakyDisk:
    """Journal files and Parquet writes that fail on demand, like a disk that fills up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.journals_full = False
        self.full_for = ""  # only journals whose path contains this fail ("" = all)
        self.short_write = False  # the first failing write puts half its bytes on disk
        self.truncate_fails = False
        self.parquet_full = False
        self.failures = 0
        real_open = builtins.open
        real_write_table = pq.write_table
        disk = self

        class JournalFile(io.FileIO):
            def write(self, data: Any) -> int:
                if not (disk.journals_full and disk.full_for in str(self.name)):
                    return super().write(data)
                disk.failures += 1
                if disk.short_write:
                    disk.short_write = False
                    return super().write(memoryview(data)[: len(memoryview(data)) // 2])
                raise _NO_SPACE

            def truncate(self, size: int | None = None) -> int:
                if disk.truncate_fails:
                    raise OSError(errno.EIO, os.strerror(errno.EIO))
                return super().truncate(size)

        def open_(file: Any, mode: str = "r", buffering: int = -1, *args: Any, **kwargs: Any) -> Any:
            if str(file).endswith(".arrows") and "b" in mode and buffering == 0:
                return JournalFile(file, mode)
            return real_open(file, mode, buffering, *args, **kwargs)

        def write_table(table: pa.Table, where: Any, *args: Any, **kwargs: Any) -> None:
            if disk.parquet_full:
                disk.failures += 1
                Path(where).write_bytes(b"PAR1" + bytes(100))  # the part that fitted
                raise _NO_SPACE
            real_write_table(table, where, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", open_)
        monkeypatch.setattr(pq, "write_table", write_table)

    def fill(self, full_for: str = "", short_write: bool = False) -> None:
        self.journals_full, self.full_for, self.short_write = True, full_for, short_write

    def heal(self) -> None:
        self.journals_full = self.truncate_fails = self.parquet_full = False


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> FlakyDisk:
    return FlakyDisk(monkeypatch)


def deltas(market: str, start_seq: int, n: int) -> dict[str, pa.Table]:
    return {"deltas": rows_to_table(DELTAS, delta_rows(market, start_seq, n))}


def lake_rows(root: Path) -> Counter[tuple[str, int]]:
    """(market, seq) of every delta row in the lake, with multiplicity."""
    rows = duckdb.sql(
        f"SELECT market_ticker, seq FROM read_parquet('{root}/deltas/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    return Counter(rows)


def sent(*batches: dict[str, pa.Table]) -> Counter[tuple[str, int]]:
    return Counter(
        (m, s)
        for b in batches
        for m, s in zip(b["deltas"]["market_ticker"].to_pylist(), b["deltas"]["seq"].to_pylist(), strict=True)
    )


def journal_rows(root: Path) -> list[int]:
    """Seqs in the open journals, read as a crash recovery would (raises if one is unreadable)."""
    seqs: list[int] = []
    for path in sorted((root / JOURNAL_DIR).rglob("*.arrows")):
        with pa.ipc.open_stream(pa.memory_map(str(path))) as reader:
            seqs += reader.read_all()["seq"].to_pylist()
    return sorted(seqs)


def test_enospc_on_the_second_partition_then_a_retry_stores_each_row_once(
    tmp_path: Path, disk: FlakyDisk
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1"), retry_interval_s=0.0)
    batch = {"deltas": pa.concat_tables([deltas("AAA-1", 1, 3)["deltas"], deltas("BBB-2", 4, 2)["deltas"]])}
    disk.fill(full_for="market_ticker=BBB-2")
    sink.write(batch)
    assert disk.failures and not sink.stats.healthy
    assert "No space left on device" in sink.stats.last_error
    assert sink.stats.backlog_rows > 0
    disk.heal()
    sink.write({})
    assert sink.stats.healthy and sink.stats.backlog_rows == 0
    sink.close()
    assert lake_rows(tmp_path) == sent(batch)  # before the fix: AAA-1 seq 1-3 twice (8 rows)
    assert sink.stats.rows_written == {"deltas": 5}


def test_a_short_write_mid_append_is_rolled_back_and_the_retry_appends_once(
    tmp_path: Path, disk: FlakyDisk
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1"), retry_interval_s=0.0)
    first, second, third = deltas("AAA-1", 1, 3), deltas("AAA-1", 4, 3), deltas("AAA-1", 7, 3)
    sink.write(first)
    disk.fill(short_write=True)
    sink.write(second)  # half of the batch reaches the disk, then ENOSPC
    assert disk.failures == 2 and not sink.stats.healthy
    assert journal_rows(tmp_path) == [1, 2, 3]  # the torn batch is gone, the journal readable
    disk.heal()
    sink.write(third)
    assert journal_rows(tmp_path) == list(range(1, 10))  # before the fix: the stream is corrupt
    sink.close()
    assert lake_rows(tmp_path) == sent(first, second, third)


def test_a_journal_that_cannot_be_shrunk_is_sealed_and_its_torn_tail_dropped(
    tmp_path: Path, disk: FlakyDisk
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1"), retry_interval_s=0.0)
    first, second = deltas("AAA-1", 1, 3), deltas("AAA-1", 4, 3)
    sink.write(first)
    disk.fill(short_write=True)
    disk.truncate_fails = True
    sink.write(second)
    assert not sink.stats.healthy
    disk.heal()
    sink.write({})  # the retry goes to a new part file, never after the torn batch
    assert sink.stats.healthy
    sink.close()
    assert lake_rows(tmp_path) == sent(first, second)
    assert len(list(tmp_path.rglob("*.parquet"))) == 2
    assert not (tmp_path / JOURNAL_DIR / "s1").exists()


def test_enospc_while_finalising_on_rotation_keeps_the_journal_until_it_can_be_finalised(
    tmp_path: Path, disk: FlakyDisk
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1", rotate_s=0.0), retry_interval_s=0.0)
    batches = [deltas("AAA-1", 1 + 3 * i, 3) for i in range(3)]
    disk.parquet_full = True
    sink.write(batches[0])
    sink.write(batches[1])
    assert not sink.stats.healthy and "No space left on device" in sink.stats.last_error
    assert not list(tmp_path.rglob("*.parquet")) and not list(tmp_path.rglob("*.tmp"))
    disk.heal()
    sink.write(batches[2])
    assert sink.stats.healthy
    sink.close()
    assert lake_rows(tmp_path) == sent(*batches)  # before the fix: seq 1-6 lost with the journal dir


def test_a_size_rotation_that_fails_does_not_make_the_sink_write_the_rows_again(
    tmp_path: Path, disk: FlakyDisk
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1", rotate_bytes=1), retry_interval_s=0.0)
    first, second = deltas("AAA-1", 1, 3), deltas("AAA-1", 4, 3)
    disk.parquet_full = True
    sink.write(first)
    assert sink.stats.backlog_rows == 0 and sink.stats.rows_written == {"deltas": 3}
    disk.heal()
    sink.write(second)
    sink.close()
    assert lake_rows(tmp_path) == sent(first, second)


def test_enospc_at_close_leaves_the_journals_for_the_next_start(
    tmp_path: Path, disk: FlakyDisk, caplog: pytest.LogCaptureFixture
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1"), retry_interval_s=0.0)
    first, second = deltas("AAA-1", 1, 3), deltas("BBB-2", 4, 2)
    sink.write(first)
    sink.write(second)
    disk.parquet_full = True
    with caplog.at_level(logging.ERROR):
        sink.close()  # before the fix: raises OSError, and the session stays locked
    assert not sink.stats.healthy and "left" in sink.stats.last_error
    left = sorted((tmp_path / JOURNAL_DIR / "s1").rglob("*.arrows"))
    assert len(left) == 2
    for journal in left:
        assert str(journal) in caplog.text  # the log says precisely what is left where
    assert recover_journals(tmp_path) == 0  # still full: nothing lost, nothing raised
    assert len(list((tmp_path / JOURNAL_DIR / "s1").rglob("*.arrows"))) == 2
    disk.heal()
    assert recover_journals(tmp_path) == 2
    assert lake_rows(tmp_path) == sent(first, second)
    assert not (tmp_path / JOURNAL_DIR / "s1").exists()


def test_rows_still_in_the_backlog_at_close_are_reported_precisely(
    tmp_path: Path, disk: FlakyDisk, caplog: pytest.LogCaptureFixture
) -> None:
    sink = LakeSink(LakeWriter(tmp_path, "s1"), retry_interval_s=0.0)
    disk.fill()
    sink.write(deltas("AAA-1", 10, 5))
    with caplog.at_level(logging.ERROR):
        sink.close()
    assert sink.stats.backlog_rows == 5 and not sink.stats.healthy
    assert "5 rows NOT written" in caplog.text
    assert "deltas AAA-1 2026-04-20: 5 rows, seq 10..14" in caplog.text
