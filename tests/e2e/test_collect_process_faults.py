"""`kalshi-rl collect` when processes die: the exchange killed under it, SIGTERM to it.

Everything runs as a user runs it: `kalshi-rl sim` and `kalshi-rl collect` subprocesses on
loopback. The tests wait for events (a line in the collector's log, a file or row in the lake),
never for a fixed time, and check the lake against the summary the collector prints.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import duckdb
import pytest

from tests.cli_support import KALSHI_RL, cli_env
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

INITIAL_S = 0.25
"""The collector's default first reconnect delay (WsConfig.reconnect_initial_s)."""


class LogWatch:
    """Reads a subprocess's stderr in a thread so a test can wait for a line without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def count(self, text: str) -> int:
        with self._changed:
            return sum(text in line for line in self.lines)

    def wait_for(self, text: str, count: int = 1, timeout_s: float = 60.0) -> None:
        """Wait until ``text`` appeared in ``count`` lines; fail with the log's tail if it did not."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while sum(text in line for line in self.lines) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = "".join(self.lines[-20:])
                    raise AssertionError(f"{text!r} x{count} not logged within {timeout_s} s:\n{tail}")
                self._changed.wait(remaining)

    def text(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


def start_collect(ws_url: str, tickers: list[str], data_dir: Path, *extra: str) -> subprocess.Popen[str]:
    markets = [arg for t in tickers for arg in ("--market", t)]
    return subprocess.Popen(
        [KALSHI_RL, "collect", *markets, "--ws-url", ws_url, "--data-dir", str(data_dir), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def stop_collect(proc: subprocess.Popen[str], log: LogWatch) -> dict[str, Any]:
    """SIGTERM the collector; return its summary (it must exit 0 and print one)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"collect ignored SIGTERM:\n{log.text()[-2000:]}") from None
    assert proc.returncode == 0, log.text()
    assert proc.stdout is not None
    return json.loads(proc.stdout.read())  # type: ignore[no-any-return]


def lake_count(lake: Path, table: str, where: str = "true") -> int:
    """Count the finalised rows of ``table`` (0 before its first file)."""
    if not any((lake / table).rglob("*.parquet")):
        return 0
    files = f"{lake}/{table}/**/*.parquet"
    sql = f"SELECT count(*) FROM read_parquet('{files}', hive_partitioning=true) WHERE {where}"
    return int(duckdb.sql(sql).fetchall()[0][0])


def assert_lake_matches(lake: Path, summary: dict[str, Any]) -> None:
    """Every row the summary counts is in the lake, once; no journal is left behind."""
    markets = summary["markets"].values()
    deltas = sum(m["deltas"] for m in markets)
    assert deltas > 0
    assert lake_count(lake, "deltas") == deltas
    assert lake_count(lake, "snapshots") == sum(m["snapshots"] for m in markets)
    assert lake_count(lake, "trades") == sum(m["trades"] for m in markets)
    assert lake_count(lake, "frames") == summary["frames"]
    assert not list((lake / "_journal").rglob("*.arrows")), "a journal was left unfinalised"


def test_collector_backs_off_while_the_exchange_is_killed_and_records_again_after_its_restart(
    sim_process,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    sim = sim_process("--markets", "1", "--rate", "1000")
    port = urlsplit(sim.ws_url).port
    lake = tmp_path / "lake"
    proc = start_collect(sim.ws_url, sim.tickers, tmp_path, "--rotate-seconds", "1")
    assert proc.stderr is not None
    log = LogWatch(proc.stderr)
    try:
        wait_until(lambda: lake_count(lake, "deltas", "conn_id = 1") > 0, "rows from the first connection")
        sim.proc.kill()  # SIGKILL: no close frame, no goodbye
        sim.proc.wait(10)
        log.wait_for("reconnecting in", count=3)  # three waits: two attempts were refused
        again = sim_process("--markets", "1", "--rate", "1000", "--port", str(port))
        assert again.tickers == sim.tickers
        wait_until(lambda: lake_count(lake, "deltas", "conn_id = 2") > 0, "rows after the restart")
        summary = stop_collect(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    ws = summary["ws"]
    assert (ws["connects"], ws["reconnects"]) == (2, 1)
    # One wait per attempt while the exchange was down, each up to twice the one before: the
    # first after a connection that had worked, then one per refused attempt.
    delays = ws["reconnect_delays_s"]
    assert len(delays) == log.count("reconnecting in") >= 3
    for n, delay in enumerate(delays):
        assert INITIAL_S * 2**n / 2 <= delay <= INITIAL_S * 2**n, delays
    assert_lake_matches(lake, summary)
    kinds = duckdb.sql(
        f"SELECT conn_id, kind FROM read_parquet('{lake}/book_events/**/*.parquet', hive_partitioning=true) "
        "ORDER BY ts_recv_ns"
    ).fetchall()
    assert (1, "disconnect") in kinds and (2, "resync") in kinds  # the book was rebuilt, not trusted


def test_sigterm_to_collect_flushes_every_row_prints_the_summary_and_exits_0(
    sim_process,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    sim = sim_process("--markets", "2", "--rate", "1500")
    lake = tmp_path / "lake"
    proc = start_collect(sim.ws_url, sim.tickers, tmp_path)  # default rotation: all in journals
    assert proc.stderr is not None
    log = LogWatch(proc.stderr)
    try:
        journal = lake / "_journal"
        for ticker in sim.tickers:
            wait_until(
                lambda t=ticker: any(journal.glob(f"*/deltas/market_ticker={t}/*/*.arrows")),
                f"rows of {ticker} reaching the lake writer",
            )
        assert not list((lake / "deltas").rglob("*.parquet"))  # nothing finalised yet
        summary = stop_collect(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert set(summary["markets"]) == set(sim.tickers)
    assert summary["ws"]["reconnects"] == 0
    assert all(s["backlog_rows"] == 0 for s in summary["sinks"].values())
    assert_lake_matches(lake, summary)
