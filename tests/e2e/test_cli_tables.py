"""Every command that prints a table, run as a user runs it with its output piped (not a TTY)
and COLUMNS=80: nothing cut (no ellipsis), no line past 80 columns, tickers, headers and
numbers whole; ``inspect model`` in contracts, not units; action times as clock times."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_support import cli_env, run_cli
from tests.support.uncut import assert_uncut

pytestmark = pytest.mark.slow

COLUMNS = 80
SIM_MARKETS = ("KXSIM-26JAN08-M00", "KXSIM-26JAN08-M01")


def run80(*args: str, timeout: float = 120) -> str:
    env = {**cli_env(), "COLUMNS": str(COLUMNS)}
    done = run_cli(*args, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(directory, stdout) of a short ``kalshi-rl demo``: a lake, a registry, a model ``demo``."""
    directory = tmp_path_factory.mktemp("demo")
    out = run80(
        "demo", "--dir", str(directory), "--collect-seconds", "40", "--timesteps", "256", "--paper-seconds", "5",
        timeout=600,
    )  # fmt: skip
    return directory, out


def test_demo_comparison_table(demo: tuple[Path, str]) -> None:
    _, out = demo
    headers = ("policy", "P&L $", "Sharpe/h", "max DD $", "win rate", "contracts", "fees $", "trades")
    event = SIM_MARKETS[0].rsplit("-", 1)[0]  # the demo's 8 markets are named by their event
    assert_uncut(out, COLUMNS, whole=(*headers, "demo@1", "hold", "random", "momentum", event))
    assert "made" in out and "on the held-out quarter:" in " ".join(out.split())  # the verdict line


TABLES = [
    (("inspect", "data"), (*SIM_MARKETS, "snapshots", "deltas", "trades", "quarantined", "coverage")),
    (("inspect", "models"), ("demo@1", "timesteps", "episodes", "eval P&L $", "created (UTC)", *SIM_MARKETS)),
    (("inspect", "model", "demo"), ("demo@1", "order 10 contracts", "position limit 50 contracts")),
    (("inspect", "episodes"), ("episode", "start (UTC)", "position", SIM_MARKETS[0])),
    (("evaluate", "--model", "demo", "--no-store"), ("momentum", "Sharpe/h", "max DD $", "contracts")),
]


@pytest.mark.parametrize(("args", "whole"), [pytest.param(*t, id=" ".join(t[0][:2])) for t in TABLES])
def test_table_commands_at_80_columns(
    demo: tuple[Path, str], args: tuple[str, ...], whole: tuple[str, ...]
) -> None:
    directory, _ = demo
    out = run80(*args, "--data-dir", str(directory))
    assert_uncut(out, COLUMNS, whole=whole)


def test_inspect_model_prints_no_internal_units_or_python_repr(demo: tuple[Path, str]) -> None:
    directory, _ = demo
    out = run80("inspect", "model", "demo", "--data-dir", str(directory))
    assert "units" not in out and "1000/5000" not in out
    assert "{" not in out and "}" not in out and "None" not in out, out


def test_collect_summary_and_paper_view_at_80_columns(
    sim_process, demo: tuple[Path, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sim = sim_process("--markets", "3", "--series", "KXBTCD", "--strike-tickers", "--rate", "300")
    assert all("." in t and t.startswith("KXBTCD-") for t in sim.tickers), (
        sim.tickers
    )  # like KXBTCD-26JAN08-T99.99
    markets = [arg for t in sim.tickers for arg in ("--market", t)]
    out = run80("collect", "--ws-url", sim.ws_url, *markets, "--duration", "3", "--data-dir", str(tmp_path))
    headers = ("market", "snapshots", "deltas", "trades", "gaps", "resyncs", "phase")
    assert_uncut(out, COLUMNS, whole=(*sim.tickers, *headers))

    directory, _ = demo
    out = run80(
        "paper", "--model", "demo", "--ws-url", sim.ws_url, "--market", sim.tickers[-1], "--duration", "15",
        "--stochastic", "--data-dir", str(directory),
    )  # fmt: skip
    headers = ("time (UTC)", "action", "contracts", "price $", "position", "confidence")
    assert_uncut(out, COLUMNS, whole=(sim.tickers[-1], "recent actions", *headers))
    assert re.search(r"decision p50 [\d,]+ µs", out) and re.search(r"p99 [\d,]+ µs", out), out
    times = re.findall(r"^│ (\d\d:\d\d:\d\d\.\d{3}) │", out, re.M)
    assert times, f"no action at a clock time in:\n{out}"
    assert not re.search(r"\b1\d{12}\b", out), "an epoch-milliseconds time"


HELP = [
    ("collect",), ("sim",), ("train",), ("evaluate",), ("paper",), ("serve",), ("demo",), ("import-capture",),
    ("inspect", "data"), ("inspect", "models"), ("inspect", "model"), ("inspect", "episodes"), ("db", "upgrade"),
    ("lake", "compact"), ("lake", "prune"), (),
]  # fmt: skip


@pytest.mark.parametrize("command", HELP, ids=lambda c: " ".join(c) or "kalshi-rl")
def test_help_cuts_no_option_name_at_80_columns(command: tuple[str, ...]) -> None:
    out = run80(*command, "--help")
    assert "…" not in out, out
    assert max(len(line) for line in out.splitlines()) <= COLUMNS
