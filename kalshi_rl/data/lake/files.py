"""The lake's files on disk: its partitions, the files a reader may use, the partitions in use.

::

    <root>/<table>/market_ticker=<T>/date=<YYYY-MM-DD>/*.parquet   (tables by market)
    <root>/<table>/date=<YYYY-MM-DD>/*.parquet                     (events, quarantine, frames)

Within a partition, the files in name order hold the rows in the order they were written
(a collector session's id starts with its start time and its parts are numbered in order;
a compacted file is named after the first file it replaced), so a reader that reads them
in that order sees the stream order.

A partition being compacted holds an *intent* (``_compaction.json``): the files the
compaction replaces (inputs) and the files replacing them (outputs). ``readable_files``
resolves it from one listing of the directory: once every output is in place the inputs
are left out, before that the outputs are; so a reader sees each row once, never both
copies and never neither.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.lake.journal import JOURNAL_DIR
from kalshi_rl.data.lake.tables import TABLES
from kalshi_rl.data.lake.writer import partition_path

__all__ = [
    "INTENT_NAME",
    "Intent",
    "Partition",
    "busy_partitions",
    "fsync_dir",
    "partitions",
    "read_intent",
    "readable_files",
    "table_files",
]

INTENT_NAME = "_compaction.json"
_LISTING_ATTEMPTS = 5


@dataclass(frozen=True, order=True)
class Partition:
    """One hive partition: a table's rows for one market (or all markets) on one UTC day."""

    table: str
    market: str | None
    date: str

    @property
    def relative(self) -> Path:
        """The partition's directory relative to the lake's root."""
        return partition_path(TABLES[self.table], self.market, self.date)

    def __str__(self) -> str:
        return self.relative.as_posix()


@dataclass(frozen=True)
class Intent:
    """What a compaction of one partition replaces (``inputs``) with what (``outputs``)."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    rows: int

    def to_json(self) -> str:
        return json.dumps({"inputs": list(self.inputs), "outputs": list(self.outputs), "rows": self.rows})


def _value(name: str, key: str) -> str | None:
    prefix = f"{key}="
    return name[len(prefix) :] if name.startswith(prefix) else None


def _subdirs(directory: Path, key: str) -> list[str]:
    """The values of ``directory``'s ``key=value`` subdirectories (none if it just went: pruned)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    return [v for e in entries if (v := _value(e.name, key)) is not None and e.is_dir()]


def partitions(root: Path, tables: tuple[str, ...] | None = None) -> list[Partition]:
    """Every partition directory of the lake (of ``tables``), sorted."""
    found: list[Partition] = []
    for name in tables or tuple(TABLES):
        base = root / name
        if TABLES[name].by_market:
            for market in _subdirs(base, "market_ticker"):
                found += [
                    Partition(name, market, d) for d in _subdirs(base / f"market_ticker={market}", "date")
                ]
        else:
            found += [Partition(name, None, d) for d in _subdirs(base, "date")]
    return sorted(found)


def read_intent(directory: Path) -> Intent | None:
    """The compaction intent in ``directory``; None if there is none (or it just went)."""
    try:
        data = json.loads((directory / INTENT_NAME).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StorageError(
            f"cannot read the compaction intent {directory / INTENT_NAME} ({exc}); "
            "run `kalshi-rl lake compact` to finish or roll back that compaction"
        ) from None
    return Intent(tuple(data["inputs"]), tuple(data["outputs"]), int(data["rows"]))


def readable_files(directory: Path) -> list[Path]:
    """The Parquet files of a partition a reader should read, in name (= stream) order.

    Hidden files (a writer's or a compaction's temporary files) are never listed. If a
    compaction is under way, its intent picks the outputs (all in place) or the inputs.
    """
    for _ in range(_LISTING_ATTEMPTS):
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []  # pruned meanwhile
        files = sorted(n for n in names if n.endswith(".parquet") and not n.startswith("."))
        if INTENT_NAME not in names:
            return [directory / n for n in files]
        intent = read_intent(directory)
        if intent is None:
            continue  # the compaction finished between the listing and the read: list again
        present = set(files)
        drop = set(intent.inputs) if present.issuperset(intent.outputs) else set(intent.outputs)
        return [directory / n for n in files if n not in drop]
    raise StorageError(f"the files of {directory} keep changing; try again")


def table_files(root: Path, table: str) -> list[Path]:
    """Every readable file of ``table``, partition by partition, each in stream order."""
    return [f for p in partitions(root, (table,)) for f in readable_files(root / p.relative)]


def busy_partitions(root: Path) -> set[Path]:
    """Partitions (relative paths) holding a journal of any session: a live collector is
    writing them, or a dead one left rows that ``recover_journals`` has still to finalise."""
    base = root / JOURNAL_DIR
    if not base.is_dir():
        return set()
    busy: set[Path] = set()
    for session_dir in base.iterdir():
        # os.walk skips a directory that vanishes under it (a session closing meanwhile)
        for directory, _, names in os.walk(session_dir):
            if any(n.endswith(".arrows") for n in names):
                busy.add(Path(directory).relative_to(session_dir))
    return busy


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, an unlink) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
