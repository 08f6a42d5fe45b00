"""Read the lake with DuckDB: inventories for ``inspect`` and windows for replay."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from kalshi_rl.core.errors import StorageError
from kalshi_rl.data.lake.files import table_files
from kalshi_rl.data.lake.tables import TABLES
from kalshi_rl.data.lake.writer import JOURNAL_DIR


@dataclass(frozen=True)
class PartitionSummary:
    """What the lake holds for one market on one day."""

    market_ticker: str
    date: str
    snapshots: int
    deltas: int
    trades: int
    first_ns: int | None
    last_ns: int | None
    gaps: int
    resyncs: int
    breaks: int
    quarantined: int
    segments: int
    covered_ns: int

    @property
    def span_ns(self) -> int:
        return 0 if self.first_ns is None or self.last_ns is None else self.last_ns - self.first_ns

    @property
    def coverage(self) -> float:
        """Share of the day's span during which the book was known (inside a segment)."""
        return 1.0 if self.span_ns == 0 else min(1.0, self.covered_ns / self.span_ns)


class LakeReader:
    """DuckDB views over the lake's Parquet files (``<table>`` for each table present).

    The files are listed once, when the reader is made (``files.table_files``): partition
    by partition, each partition's files in stream order, a compaction under way resolved
    to one copy of its rows. A scan without ORDER BY returns a partition's rows in the order
    they were received.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.con = duckdb.connect()
        self.present: set[str] = set()
        self.files: dict[str, list[Path]] = {}
        for name in TABLES:
            files = table_files(root, name)
            if files:
                relation = self.con.read_parquet(
                    [str(f) for f in files], hive_partitioning=True, union_by_name=True
                )
                relation.create_view(name)
                self.present.add(name)
                self.files[name] = files

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:
            raise StorageError(f"cannot read the lake at {self.root}: {exc}") from None

    def columns(self, table: str) -> set[str]:
        """The columns of ``table`` in any of its files (an older lake may lack newer ones)."""
        if table not in self.present:
            return set()
        return {row[0] for row in self.query(f"DESCRIBE {table}")}

    def count(self, table: str) -> int:
        return self.query(f"SELECT count(*) FROM {table}")[0][0] if table in self.present else 0

    def open_journals(self) -> int:
        base = self.root / JOURNAL_DIR
        return sum(1 for _ in base.rglob("*.arrows")) if base.is_dir() else 0

    def markets(self) -> list[str]:
        names = [t for t in ("snapshots", "deltas", "trades", "markets") if t in self.present]
        if not names:
            return []
        union = " UNION ".join(f"SELECT DISTINCT market_ticker FROM {t}" for t in names)
        return [r[0] for r in self.query(f"SELECT market_ticker FROM ({union}) ORDER BY 1")]

    def inventory(self) -> list[PartitionSummary]:
        """Per market and day: counts, span, gaps, resyncs, quarantine, coverage."""
        if not self.present & {"snapshots", "deltas", "trades"}:
            return []
        parts: dict[tuple[str, str], dict[str, Any]] = {}

        def fold(table: str, sql: str) -> None:
            if table not in self.present:
                return
            for market, date, *values in self.query(sql.format(t=table)):
                parts.setdefault((market, str(date)), {}).update(zip(_KEYS[table], values, strict=True))

        fold(
            "snapshots",
            "SELECT market_ticker, date, count(*), min(ts_recv_ns), max(ts_recv_ns), count(DISTINCT segment) FROM {t} GROUP BY ALL",
        )
        fold(
            "deltas",
            "SELECT market_ticker, date, count(*), min(ts_recv_ns), max(ts_recv_ns) FROM {t} GROUP BY ALL",
        )
        fold(
            "trades",
            "SELECT market_ticker, date, count(*), min(ts_recv_ns), max(ts_recv_ns) FROM {t} GROUP BY ALL",
        )
        fold(
            "book_events",
            "SELECT market_ticker, date, count(*) FILTER (kind = 'gap'), count(*) FILTER (kind = 'resync'), "
            "count(*) FILTER (kind NOT IN ('resync', 'unsubscribable') AND kind NOT LIKE 'trade%' "
            "AND kind NOT LIKE 'market_lifecycle%') "
            "FROM {t} GROUP BY ALL",
        )
        if "quarantine" in self.present:
            for market, date, n in self.query(
                "SELECT coalesce(market_ticker, '(unknown)'), date, count(*) FROM quarantine GROUP BY ALL"
            ):
                parts.setdefault((market, str(date)), {})["quarantined"] = n
        if "deltas" in self.present and "snapshots" in self.present:
            for market, date, covered in self.query(_COVERAGE_SQL):
                parts.setdefault((market, str(date)), {})["covered_ns"] = int(covered or 0)
        return [_summary(market, date, values) for (market, date), values in sorted(parts.items())]


_KEYS = {
    "snapshots": ("snapshots", "snap_first", "snap_last", "segments"),
    "deltas": ("deltas", "delta_first", "delta_last"),
    "trades": ("trades", "trade_first", "trade_last"),
    "book_events": ("gaps", "resyncs", "breaks"),
}

_COVERAGE_SQL = """
WITH rows AS (
    SELECT market_ticker, date, segment, ts_recv_ns FROM snapshots
    UNION ALL SELECT market_ticker, date, segment, ts_recv_ns FROM deltas
), segs AS (
    SELECT market_ticker, date, segment, max(ts_recv_ns) - min(ts_recv_ns) AS covered FROM rows GROUP BY ALL
)
SELECT market_ticker, date, sum(covered) FROM segs GROUP BY ALL
"""


def _summary(market: str, date: str, v: dict[str, Any]) -> PartitionSummary:
    firsts = [v[k] for k in ("snap_first", "delta_first", "trade_first") if v.get(k) is not None]
    lasts = [v[k] for k in ("snap_last", "delta_last", "trade_last") if v.get(k) is not None]
    return PartitionSummary(
        market_ticker=market,
        date=date,
        snapshots=v.get("snapshots", 0),
        deltas=v.get("deltas", 0),
        trades=v.get("trades", 0),
        first_ns=min(firsts) if firsts else None,
        last_ns=max(lasts) if lasts else None,
        gaps=v.get("gaps", 0),
        resyncs=v.get("resyncs", 0),
        breaks=v.get("breaks", 0),
        quarantined=v.get("quarantined", 0),
        segments=v.get("segments", 0),
        covered_ns=v.get("covered_ns", 0),
    )
