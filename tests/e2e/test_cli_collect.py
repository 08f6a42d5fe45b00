"""`kalshi-rl sim` + `kalshi-rl collect` + `kalshi-rl inspect data`, as a user runs them.

The exchange and the collectors under test are processes (real time, real signals); the
commands that only read or prepare (``db upgrade``, ``inspect data``, the run after a kill)
run the same app in this process (``invoke_cli``).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pytest

from tests.cli_support import KALSHI_RL, SimProcess, cli_env, invoke_cli, run_cli
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def markets_args(tickers: list[str]) -> list[str]:
    return [arg for t in tickers for arg in ("--market", t)]


def lake_deltas(lake: Path) -> int:
    return int(
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/deltas/**/*.parquet')").fetchall()[0][0]
    )


def whole_batch_rows(journal: Path) -> int:
    """Rows in the whole record batches of an Arrow IPC journal (a killed writer may leave a partial one)."""
    rows = 0
    try:
        with pa.ipc.open_stream(pa.memory_map(str(journal))) as reader:
            while True:
                rows += reader.read_next_batch().num_rows
    except StopIteration:
        pass  # the end of the stream
    except (pa.ArrowInvalid, OSError):
        pass  # a partial schema or batch at the end: only whole batches count
    return rows


def journaled_rows(lake: Path) -> int:
    """Delta rows in the whole batches of the open journals."""
    return sum(whole_batch_rows(j) for j in (lake / "_journal").rglob("deltas/**/*.arrows"))


@pytest.fixture(scope="module")
def exchange(module_sim_process) -> SimProcess:  # type: ignore[no-untyped-def]
    """One fast market, shared by the kill and Ctrl-C tests (each has its own collector)."""
    return module_sim_process("--markets", "1", "--rate", "2000")  # type: ignore[no-any-return]


@pytest.mark.postgres
def test_sim_collect_inspect_with_postgres(sim_process, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = sim_process("--markets", "2", "--seed", "3", "--rate", "1500")
    upgraded = invoke_cli("db", "upgrade", "--database-url", pg_url, "--json")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["revision"]
    collected = run_cli(
        "collect",
        *markets_args(sim.tickers),
        "--ws-url",
        sim.ws_url,
        "--duration",
        "3",
        "--data-dir",
        str(tmp_path),
        "--database-url",
        pg_url,
        "--json",
    )
    assert collected.returncode == 0, collected.stderr
    summary = json.loads(collected.stdout)
    deltas = sum(m["deltas"] for m in summary["markets"].values())
    assert deltas > 1_000 and summary["sinks"]["postgres"]["backlog_rows"] == 0

    inspected = invoke_cli("inspect", "data", "--data-dir", str(tmp_path), "--json")
    assert inspected.exit_code == 0, inspected.stderr
    report = json.loads(inspected.stdout)
    assert {p["market_ticker"] for p in report["partitions"]} == set(sim.tickers)
    assert sum(p["deltas"] for p in report["partitions"]) == deltas
    assert all(p["coverage"] > 0.99 and p["gaps"] == 0 for p in report["partitions"])
    assert report["frames_by_disposition"]["applied"] >= deltas

    with psycopg.connect(pg_url) as pg:
        assert pg.execute("SELECT count(*) FROM orderbook_deltas").fetchone() == (deltas,)

    table = invoke_cli("inspect", "data", "--data-dir", str(tmp_path))
    assert table.exit_code == 0 and sim.tickers[0] in table.stdout and "coverage" in table.stdout


def test_sigkilled_collector_leaves_a_readable_lake_and_the_next_run_recovers_it(
    exchange: SimProcess, tmp_path: Path
) -> None:
    sim = exchange
    proc = subprocess.Popen(
        [
            KALSHI_RL,
            "collect",
            *markets_args(sim.tickers),
            "--ws-url",
            sim.ws_url,
            "--data-dir",
            str(tmp_path),
            "--rotate-seconds",
            "1",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    lake = tmp_path / "lake"
    # Kill it once it has finalised a file and journaled rows after it (whole batches).
    wait_until(lambda: list((lake / "deltas").rglob("*.parquet")), "a first finalised file", every_s=0.1)
    wait_until(lambda: journaled_rows(lake), "rows journaled after the first rotation", every_s=0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Readable right away: every visible file is whole.
    before = lake_deltas(lake)
    assert before > 0
    journals = list((lake / "_journal").rglob("deltas/**/*.arrows"))
    assert journals, "the killed session's last rows sit in journals"
    journaled = journaled_rows(lake)
    assert journaled > 0
    report = json.loads(invoke_cli("inspect", "data", "--data-dir", str(tmp_path), "--json").stdout)
    assert report["open_journals"] > 0
    # The next collector finalises them: nothing flushed before the kill is lost.
    again = invoke_cli(
        "collect",
        *markets_args(sim.tickers),
        "--ws-url",
        sim.ws_url,
        "--data-dir",
        str(tmp_path),
        "--duration",
        "1",
        "--json",
    )
    assert again.exit_code == 0, again.stderr
    second = sum(m["deltas"] for m in json.loads(again.stdout)["markets"].values())
    # Exactly: the finalised files, every whole batch the killed session had journaled, this run.
    assert lake_deltas(lake) == before + journaled + second
    assert not list((lake / "_journal").rglob("*.arrows"))


def test_ctrl_c_flushes_every_queue(exchange: SimProcess, tmp_path: Path) -> None:
    sim = exchange
    proc = subprocess.Popen(
        [
            KALSHI_RL,
            "collect",
            *markets_args(sim.tickers),
            "--ws-url",
            sim.ws_url,
            "--data-dir",
            str(tmp_path),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    lake = tmp_path / "lake"
    # Rows are flowing once a delta batch is journaled; at 2,000 a second more are in the queues.
    wait_until(lambda: journaled_rows(lake), "a delta batch journaled", every_s=0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    deltas = sum(m["deltas"] for m in summary["markets"].values())
    assert deltas > 0, "the collector recorded nothing before Ctrl-C: the test would prove nothing"
    assert lake_deltas(lake) == deltas
    frames = duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/frames/**/*.parquet')").fetchall()[0][0]
    assert frames == summary["frames"]
    assert not list((lake / "_journal").rglob("*.arrows"))
