"""Lakes written by real ``LakeWriter`` sessions, and what a reader sees in them, for the
compaction and retention tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from kalshi_rl.data.lake.reader import LakeReader
from kalshi_rl.data.lake.tables import DELTAS, FRAMES, rows_to_table
from kalshi_rl.data.lake.writer import LakeWriter

DAY_NS = 86_400 * 10**9
DAY0 = 1_776_643_200 * 10**9  # 2026-04-20T00:00:00Z
MARKETS = ("KXA-1", "KXB-2", "KXC-3")

Flush = Sequence[tuple[int, int, int]]
"""One flush of a session: (market index, day index, rows) per partition touched."""


def session_id(n: int) -> str:
    """Session ids sort like the collector's (start time first)."""
    return f"20260420T0000{n:02d}-abcdef"


def write_lake(root: Path, sessions: Sequence[Sequence[Flush]], first_session: int = 0) -> int:
    """Write deltas and frames: each flush ends with a rotation, so one file per partition
    touched. Seqs grow per market across sessions. Return the rows written per table."""
    seqs: Counter[str] = Counter()
    written = 0
    for n, flushes in enumerate(sessions, first_session):
        sid = session_id(n)
        writer = LakeWriter(root, sid)
        for flush in flushes:
            deltas, frames = [], []
            for market_i, day, rows in flush:
                market = MARKETS[market_i]
                for _ in range(rows):
                    seqs[market] += 1
                    seq = seqs[market]
                    ts = DAY0 + day * DAY_NS + seq * 1_000_003
                    deltas.append((market, ts // 10**6, ts, sid, 1, 1 + market_i, seq, 100 + market_i, "yes", 40 + seq % 7, seq % 5 - 2, seq % 11))  # fmt: skip
                    frames.append((ts, sid, 1, "applied", market, f'{{"seq":{seq}}}'))
            if deltas:
                writer.write("deltas", rows_to_table(DELTAS, deltas))
                writer.write("frames", rows_to_table(FRAMES, frames))
                written += len(deltas)
            writer.rotate(force=True)
        writer.close()
    return written


def read_rows(root: Path, table: str) -> list[tuple[object, ...]]:
    """Every row of ``table`` as a reader scans it (no ORDER BY: the files' order)."""
    reader = LakeReader(root)
    if table not in reader.present:
        return []
    return reader.query(f"SELECT * FROM {table}")


def parquet_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if "_journal" not in p.parts)


def file_state(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``root`` (journals included): (inode, size, mtime) by relative path."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "_maintenance.lock"
    }


def hidden_or_intent(root: Path) -> list[Path]:
    """Temporary files and compaction intents left in partitions."""
    return [
        p
        for p in root.rglob("*")
        if p.is_file()
        and "_journal" not in p.parts
        and (p.name.startswith(".") or p.name == "_compaction.json")
    ]
