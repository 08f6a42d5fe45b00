"""PostgresSink against the real PostgreSQL server: exact values, outages, exactly-once."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from kalshi_rl.data.lake.tables import DELTAS, SNAPSHOTS, rows_to_table
from kalshi_rl.data.storage.database import (
    create_db_engine,
    libpq_conninfo,
    open_database,
    parse_database_url,
)
from kalshi_rl.data.storage.migrate import upgrade
from kalshi_rl.data.storage.postgres_sink import PostgresSink

pytestmark = pytest.mark.postgres
T0 = 1_776_664_537_333_843_000


def deltas(start: int, n: int) -> list[tuple[object, ...]]:
    # Alternate an add, an update and a removal of sub-cent / fractional levels.
    rows = []
    for i in range(n):
        seq = start + i
        size_after = (0, 67899, 50)[seq % 3]
        rows.append(
            (
                "KX-1",
                1_776_664_537_000 + seq,
                T0 + seq,
                "s1",
                1,
                2,
                seq,
                9,
                "no",
                520,
                67899 if seq % 3 == 1 else -50,
                size_after,
            )
        )
    return rows


@pytest.fixture
def sink_and_url(pg_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = parse_database_url(pg_url)
    upgrade(create_db_engine(url))
    open_database(pg_url, tmp_path)  # checks the schema is at head
    sink = PostgresSink(libpq_conninfo(url), retry_interval_s=0.05)
    yield sink, pg_url
    sink.close(final_attempts=1)


def _set_connections(pg_url: str, allowed: bool) -> None:
    name = pg_url.rsplit("/", 1)[1]
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])


def _rows(pg_url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql).fetchall()


def test_deltas_are_stored_with_exact_prices_and_counts(sink_and_url) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    sink.write({"deltas": rows_to_table(DELTAS, deltas(1, 3))})
    rows = _rows(
        url,
        "SELECT sequence_number, delta_type, side, price, quantity, delta, timestamp FROM orderbook_deltas ORDER BY 1",
    )
    assert rows == [
        (1, "add", "no_bid", Decimal("0.0520"), Decimal("678.99"), Decimal("678.99"), 1_776_664_537_001),
        (2, "update", "no_bid", Decimal("0.0520"), Decimal("0.50"), Decimal("-0.50"), 1_776_664_537_002),
        (3, "remove", "no_bid", Decimal("0.0520"), None, Decimal("-0.50"), 1_776_664_537_003),
    ]
    assert sink.stats.rows_written == {"orderbook_deltas": 3}


def test_snapshots_store_the_four_spec_ladders(sink_and_url) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    row = ("KX-1", None, T0, "s1", 1, 2, 1, 9, [5600, 5500], [67899, 1200], [4300, 520], [29147, 7500], 1)
    sink.write({"snapshots": rows_to_table(SNAPSHOTS, [row])})
    ((yes_bids, yes_asks, no_bids, no_asks, ts),) = _rows(
        url, "SELECT yes_bids, yes_asks, no_bids, no_asks, timestamp FROM orderbook_snapshots"
    )
    assert yes_bids == [{"price": "0.5600", "quantity": "678.99"}, {"price": "0.5500", "quantity": "12.00"}]
    assert yes_asks == [{"price": "0.5700", "quantity": "291.47"}, {"price": "0.9480", "quantity": "75.00"}]
    assert no_bids[0] == {"price": "0.4300", "quantity": "291.47"}
    assert no_asks[0] == {"price": "0.4400", "quantity": "678.99"}
    assert ts == T0 // 1_000_000


def test_an_outage_loses_nothing_and_writes_resume_in_order(sink_and_url) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    sink.write({"deltas": rows_to_table(DELTAS, deltas(1, 10))})
    _set_connections(url, allowed=False)
    try:
        sink.write({"deltas": rows_to_table(DELTAS, deltas(11, 10))})
        time.sleep(0.06)
        sink.write({"deltas": rows_to_table(DELTAS, deltas(21, 10))})
        assert not sink.stats.healthy
        assert sink.stats.backlog_rows == 20
        assert sink.stats.last_error
    finally:
        _set_connections(url, allowed=True)
    time.sleep(0.06)
    sink.write({})
    assert sink.stats.healthy
    assert sink.stats.backlog_rows == 0
    seqs = [r[0] for r in _rows(url, "SELECT sequence_number FROM orderbook_deltas ORDER BY id")]
    assert seqs == list(range(1, 31))


def test_a_retried_batch_that_already_committed_is_not_stored_twice(sink_and_url) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    batch = rows_to_table(DELTAS, deltas(1, 5))
    sink.write({"deltas": batch})
    sink.write({"deltas": batch})  # as if the first commit's acknowledgement had been lost
    assert _rows(url, "SELECT count(*) FROM orderbook_deltas") == [(5,)]
    assert sink.stats.duplicates_skipped == 5
