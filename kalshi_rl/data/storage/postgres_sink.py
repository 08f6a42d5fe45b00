"""``PostgresSink``: COPY the orderbook rows into the spec's PostgreSQL tables.

Runs in its own worker thread (see ``write_queue``). A batch is converted to CSV once, with
Arrow (exact decimals, no float), and COPYed in one transaction. If PostgreSQL is down the
batch stays in an in-memory backlog, the failure is reported in ``stats``, and the backlog
is retried in order until it goes in; nothing accepted is dropped. A retried batch that
already committed (the connection broke after the server's COMMIT but before its reply
arrived) hits the unique stream key and is skipped, so each row lands exactly once. This
relies on a batch being one transaction (all its rows or none are stored) and on stream
positions being unique, which the feed guarantees (seq counts every message of a sid).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.conninfo import make_conninfo

from kalshi_rl.core.units import PRICE_SCALE, format_count, format_price

logger = logging.getLogger(__name__)

DELTA_COLUMNS = (
    "market_ticker",
    "timestamp",
    "sequence_number",
    "delta_type",
    "side",
    "price",
    "quantity",
    "received_at",
    "delta",
    "exchange_ts_ms",
    "session_id",
    "conn_id",
    "sid",
    "segment",
)
SNAPSHOT_COLUMNS = (
    "market_ticker",
    "timestamp",
    "sequence_number",
    "yes_bids",
    "yes_asks",
    "no_bids",
    "no_asks",
    "received_at",
    "checksum",
    "exchange_ts_ms",
    "session_id",
    "conn_id",
    "sid",
    "segment",
)
_CSV = pacsv.WriteOptions(include_header=False)


@dataclass
class _Batch:
    table: str
    columns: tuple[str, ...]
    payload: bytes
    rows: int
    attempted: bool = False  # a COPY of it was sent: it may have committed, unacknowledged


@dataclass
class SinkStats:
    """What a sink has stored and whether it is keeping up (shown live and in the summary)."""

    rows_written: dict[str, int] = field(default_factory=dict)  # rows now stored, per table
    backlog_rows: int = 0  # accepted rows not stored yet (kept for retry)
    healthy: bool = True  # False from a failed write until the backlog is written again
    failures: int = 0
    duplicates_skipped: int = 0  # rows found stored already (a lost COMMIT reply, or another writer)
    rejected: dict[str, int] = field(default_factory=dict)  # rows the database refused, set aside
    last_error: str = ""


def _decimal(values: pa.ChunkedArray | pa.Array, scale: int) -> pa.Array:
    """Exact dollars/contracts from integer ticks/units: reinterpret with a decimal scale."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.cast(values, pa.decimal128(19, 0)).view(pa.decimal128(19, scale))


def _event_ms(data: pa.Table) -> pa.Array:
    recv_ms = pc.divide(data["ts_recv_ns"], 1_000_000)
    return pc.coalesce(data["ts_exchange_ms"], recv_ms)


def _received_at(data: pa.Table) -> pa.Array:
    return data["ts_recv_ns"].cast(pa.timestamp("ns", "UTC")).cast(pa.timestamp("us", "UTC"), safe=False)


def _csv(columns: dict[str, pa.Array]) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table(columns), buffer, _CSV)
    return buffer.getvalue()


def delta_batch(data: pa.Table) -> _Batch:
    size_after = data["size_after"]
    removed = pc.equal(size_after, 0)
    delta_type = pc.if_else(
        removed, "remove", pc.if_else(pc.equal(size_after, data["delta_units"]), "add", "update")
    )
    columns = {
        "market_ticker": data["market_ticker"],
        "timestamp": _event_ms(data),
        "sequence_number": data["seq"],
        "delta_type": delta_type,
        "side": pc.binary_join_element_wise(data["side"], "bid", "_"),
        "price": _decimal(data["price_ticks"], 4),
        "quantity": pc.if_else(removed, pa.scalar(None, pa.decimal128(19, 2)), _decimal(size_after, 2)),
        "received_at": _received_at(data),
        "delta": _decimal(data["delta_units"], 2),
        "exchange_ts_ms": data["ts_exchange_ms"],
        "session_id": data["session_id"],
        "conn_id": data["conn_id"],
        "sid": data["sid"],
        "segment": data["segment"],
    }
    return _Batch("orderbook_deltas", DELTA_COLUMNS, _csv(columns), data.num_rows)


def _ladder_json(prices: list[int], sizes: list[int], ask: bool) -> str:
    """Levels best first: bids high to low; asks (the other side's bids at 1 - p) low to high."""
    if ask:
        levels = sorted((PRICE_SCALE - p, s) for p, s in zip(prices, sizes, strict=True))
    else:
        levels = sorted(zip(prices, sizes, strict=True), reverse=True)
    return json.dumps([{"price": format_price(p), "quantity": format_count(s)} for p, s in levels])


def snapshot_batch(data: pa.Table) -> _Batch:
    rows = data.select(["yes_prices", "yes_sizes", "no_prices", "no_sizes"]).to_pylist()
    ladders: dict[str, list[str]] = {
        "yes_bids": [],
        "yes_asks": [],
        "no_bids": [],
        "no_asks": [],
        "checksum": [],
    }
    for row in rows:
        yes_p, yes_s, no_p, no_s = row["yes_prices"], row["yes_sizes"], row["no_prices"], row["no_sizes"]
        ladders["yes_bids"].append(_ladder_json(yes_p, yes_s, ask=False))
        ladders["no_bids"].append(_ladder_json(no_p, no_s, ask=False))
        ladders["yes_asks"].append(_ladder_json(no_p, no_s, ask=True))
        ladders["no_asks"].append(_ladder_json(yes_p, yes_s, ask=True))
        ladders["checksum"].append(book_checksum(yes_p, yes_s, no_p, no_s))
    columns = {
        "market_ticker": data["market_ticker"],
        "timestamp": _event_ms(data),
        "sequence_number": data["seq"],
        "yes_bids": pa.array(ladders["yes_bids"]),
        "yes_asks": pa.array(ladders["yes_asks"]),
        "no_bids": pa.array(ladders["no_bids"]),
        "no_asks": pa.array(ladders["no_asks"]),
        "received_at": _received_at(data),
        "checksum": pa.array(ladders["checksum"]),
        "exchange_ts_ms": data["ts_exchange_ms"],
        "session_id": data["session_id"],
        "conn_id": data["conn_id"],
        "sid": data["sid"],
        "segment": data["segment"],
    }
    return _Batch("orderbook_snapshots", SNAPSHOT_COLUMNS, _csv(columns), data.num_rows)


def book_checksum(yes_p: list[int], yes_s: list[int], no_p: list[int], no_s: list[int]) -> str:
    """A sha256 over both bid ladders in price order (to validate a stored snapshot)."""
    canonical = json.dumps([sorted(zip(yes_p, yes_s, strict=True)), sorted(zip(no_p, no_s, strict=True))])
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_DEAD_PEER_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 5,
    # A network that goes silent without closing the connection must fail the batch (to be
    # retried) instead of hanging the sink thread: keepalives find a silent peer while we wait
    # for a reply, tcp_user_timeout bounds data sent but never acknowledged (a COPY).
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


class PostgresSink:
    """COPYs snapshots and deltas into PostgreSQL; survives outages without losing rows."""

    name = "postgres"

    def __init__(self, conninfo: str, retry_interval_s: float = 2.0) -> None:
        self._conninfo = make_conninfo(conninfo, **_DEAD_PEER_TIMEOUTS)
        self._retry_interval_s = retry_interval_s
        self._conn: psycopg.Connection | None = None
        self._backlog: deque[_Batch] = deque()
        self._next_attempt = 0.0
        self.stats = SinkStats()

    def write(self, tables: dict[str, pa.Table]) -> None:
        """Queue this flush's rows and COPY everything queued (called from one thread)."""
        for name, build in (("snapshots", snapshot_batch), ("deltas", delta_batch)):
            data = tables.get(name)
            if data is not None and data.num_rows:
                batch = build(data)
                self._backlog.append(batch)
                self.stats.backlog_rows += batch.rows
        self._drain()

    def _drain(self) -> None:
        if not self._backlog or time.monotonic() < self._next_attempt:
            return
        try:
            conn = self._connection()
            while self._backlog:
                batch = self._backlog[0]
                self._copy(conn, batch)
                self._backlog.popleft()
                self.stats.backlog_rows -= batch.rows
            if not self.stats.healthy:
                logger.info("PostgreSQL is back; backlog written")
            self.stats.healthy = True
        except psycopg.Error as exc:
            self._fail(exc)

    def _copy(self, conn: psycopg.Connection, batch: _Batch) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            sql.Identifier(batch.table), sql.SQL(", ").join(map(sql.Identifier, batch.columns))
        )
        retry, batch.attempted = batch.attempted, True
        try:
            with conn.transaction(), conn.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(batch.payload)
        except psycopg.errors.UniqueViolation:
            self.stats.duplicates_skipped += batch.rows
            if not retry:  # not ours: another writer stored these stream positions
                logger.warning("%d %s rows were already stored; skipped", batch.rows, batch.table)
                return
            # Ours: an earlier attempt committed but its reply was lost. The rows are stored,
            # and were never counted (that attempt raised).
        self.stats.rows_written[batch.table] = self.stats.rows_written.get(batch.table, 0) + batch.rows

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        return self._conn

    def _fail(self, exc: psycopg.Error) -> None:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self.stats.healthy or reason != self.stats.last_error:
            logger.warning(
                "PostgreSQL write failed (%s); %d rows kept for retry", reason, self.stats.backlog_rows
            )
        self.stats.healthy = False
        self.stats.failures += 1
        self.stats.last_error = reason
        self._next_attempt = time.monotonic() + self._retry_interval_s
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def close(self, final_attempts: int = 3) -> None:
        """Try to write what is left; anything still unwritten stays reported in ``stats``."""
        for _ in range(final_attempts):
            if not self._backlog:
                break
            self._next_attempt = 0.0
            self._drain()
        if self._backlog:
            logger.error(
                "PostgreSQL unavailable at shutdown: %d rows not copied (they are in the lake)",
                self.stats.backlog_rows,
            )
        if self._conn is not None:
            self._conn.close()
