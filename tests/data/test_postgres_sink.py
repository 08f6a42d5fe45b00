"""PostgresSink against the real PostgreSQL server: exact values, outages, exactly-once.

Outages are made by a TCP proxy between the sink and the server (tests/support/pg_proxy.py)
that cuts the connection at an exact point of the protocol: inside a COPY, after the server
committed but before its reply reaches the sink, or by refusing connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from tests.support.pg_proxy import PgProxy

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
def proxy(pg_url: str) -> Iterator[PgProxy]:
    with PgProxy.in_front_of(pg_url) as proxy:
        yield proxy


@pytest.fixture
def make_sink(pg_url: str, proxy: PgProxy, tmp_path: Path) -> Iterator[Callable[..., PostgresSink]]:
    """PostgresSinks that reach the (migrated) test database through the proxy."""
    url = parse_database_url(pg_url)
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    open_database(pg_url, tmp_path).dispose()  # checks the schema is at head
    sinks: list[PostgresSink] = []

    def make(retry_interval_s: float = 0.0) -> PostgresSink:
        # No retry delay by default: every write retries, so no test waits for a clock.
        sinks.append(PostgresSink(proxy.url(libpq_conninfo(url)), retry_interval_s=retry_interval_s))
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.close(final_attempts=1)


@pytest.fixture
def sink_and_url(make_sink: Callable[..., PostgresSink], pg_url: str) -> tuple[PostgresSink, str]:
    return make_sink(), pg_url


def _rows(pg_url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql).fetchall()


def _seqs(pg_url: str) -> list[int]:
    return [r[0] for r in _rows(pg_url, "SELECT sequence_number FROM orderbook_deltas ORDER BY id")]


def _write(sink: PostgresSink, start: int, n: int) -> None:
    sink.write({"deltas": rows_to_table(DELTAS, deltas(start, n))})


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
    row = (
        "KX-1",
        None,
        T0,
        "s1",
        1,
        2,
        1,
        9,
        [5600, 5500],
        [67899, 1200],
        [4300, 520],
        [29147, 7500],
        1,
        False,
    )
    sink.write({"snapshots": rows_to_table(SNAPSHOTS, [row])})
    ((yes_bids, yes_asks, no_bids, no_asks, ts),) = _rows(
        url, "SELECT yes_bids, yes_asks, no_bids, no_asks, timestamp FROM orderbook_snapshots"
    )
    assert yes_bids == [{"price": "0.5600", "quantity": "678.99"}, {"price": "0.5500", "quantity": "12.00"}]
    assert yes_asks == [{"price": "0.5700", "quantity": "291.47"}, {"price": "0.9480", "quantity": "75.00"}]
    assert no_bids[0] == {"price": "0.4300", "quantity": "291.47"}
    assert no_asks[0] == {"price": "0.4400", "quantity": "678.99"}
    assert ts == T0 // 1_000_000


def test_an_outage_loses_nothing_and_writes_resume_in_order(sink_and_url, proxy: PgProxy) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    _write(sink, 1, 10)
    proxy.down()
    try:
        _write(sink, 11, 10)  # the open connection was cut
        _write(sink, 21, 10)  # a new one is refused
        assert proxy.refused >= 1
        assert not sink.stats.healthy and sink.stats.failures == 2
        assert sink.stats.backlog_rows == 20
        assert sink.stats.last_error
        assert _seqs(url) == list(range(1, 11))
    finally:
        proxy.up()
    sink.write({})
    assert sink.stats.healthy
    assert sink.stats.backlog_rows == 0
    assert _seqs(url) == list(range(1, 31))
    assert sink.stats.rows_written == {"orderbook_deltas": 30}


@pytest.mark.parametrize(("after_copy_data", "cut_at"), [(1, "CopyData"), (3, "CopyDone")])
def test_a_copy_cut_midway_is_written_again_once(
    sink_and_url, proxy: PgProxy, after_copy_data: int, cut_at: str
) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    _write(sink, 1, 10)
    # 3,000 rows are ~340 kB of CSV: psycopg sends three CopyData messages (128 kB at most each).
    cut = proxy.cut_mid_copy(after_copy_data=after_copy_data)
    _write(sink, 11, 3_000)
    record = cut.wait()
    assert (record.table, record.at) == ("orderbook_deltas", cut_at)
    assert 0 < record.rows <= 3_000  # the server had received rows of the batch
    assert not sink.stats.healthy and sink.stats.backlog_rows == 3_000
    assert _seqs(url) == list(range(1, 11))  # nothing of the cut COPY was committed

    _write(sink, 3_011, 5)
    assert sink.stats.healthy and sink.stats.backlog_rows == 0
    assert _seqs(url) == list(range(1, 3_016))
    assert sink.stats.rows_written == {"orderbook_deltas": 3_015}
    assert sink.stats.duplicates_skipped == 0


def test_a_batch_whose_commit_reply_was_lost_is_stored_once_and_counted(sink_and_url, proxy: PgProxy) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    _write(sink, 1, 10)
    cut = proxy.cut_after_commit(down_after=True)
    _write(sink, 11, 5)
    assert cut.wait() == cut.record and cut.record is not None
    assert (cut.record.table, cut.record.rows) == ("orderbook_deltas", 5)
    # The server committed the batch, but the sink cannot know: it keeps it for retry.
    assert _seqs(url) == list(range(1, 16))
    assert not sink.stats.healthy and sink.stats.backlog_rows == 5
    _write(sink, 16, 5)  # refused: the proxy is down
    assert sink.stats.backlog_rows == 10

    proxy.up()
    sink.write({})
    assert sink.stats.healthy and sink.stats.backlog_rows == 0
    assert _seqs(url) == list(range(1, 21))  # once each, in order
    assert sink.stats.duplicates_skipped == 5
    assert sink.stats.rows_written == {"orderbook_deltas": 20}  # what is stored, as the summary says


def test_retries_wait_for_the_retry_interval_except_at_close(make_sink, proxy: PgProxy, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(retry_interval_s=3_600.0)
    cut = proxy.cut_mid_copy(after_copy_data=0)
    _write(sink, 1, 10)
    cut.wait()
    connections = proxy.connections
    _write(sink, 11, 10)  # the server is reachable, but the retry is not due yet
    assert proxy.connections == connections and sink.stats.backlog_rows == 20
    sink.close()
    assert sink.stats.backlog_rows == 0
    assert _seqs(pg_url) == list(range(1, 21))


def test_rows_another_writer_stored_are_skipped_not_doubled(sink_and_url) -> None:  # type: ignore[no-untyped-def]
    sink, url = sink_and_url
    batch = rows_to_table(DELTAS, deltas(1, 5))
    sink.write({"deltas": batch})
    sink.write({"deltas": batch})  # the same stream positions again, never sent before by this batch
    assert _rows(url, "SELECT count(*) FROM orderbook_deltas") == [(5,)]
    assert sink.stats.duplicates_skipped == 5
    assert sink.stats.rows_written == {"orderbook_deltas": 5}


def test_the_connection_detects_a_silent_network(sink_and_url) -> None:  # type: ignore[no-untyped-def]
    # A network that goes silent without closing must fail the batch (it is retried), not hang
    # the sink thread: TCP keepalives while waiting for a reply, tcp_user_timeout for a COPY
    # sent but never acknowledged (libpq's defaults: no keepalive for 2 hours, no user timeout).
    sink, _ = sink_and_url
    _write(sink, 1, 1)
    params = sink._connection().info.get_parameters()
    names = (
        "connect_timeout",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
    )
    assert {name: params.get(name) for name in names} == {
        "connect_timeout": "5",
        "keepalives_idle": "10",
        "keepalives_interval": "5",
        "keepalives_count": "3",
        "tcp_user_timeout": "30000",
    }
