"""Run the real ``kalshi-rl`` command in subprocesses, with a real local exchange (a pytest plugin)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

KALSHI_RL = str(Path(sys.executable).parent / "kalshi-rl")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALSHI_", "RL_", "DATABASE_URL"))}
    env.update(COLUMNS="160", **extra)
    return env


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KALSHI_RL, *args], capture_output=True, text=True, env=env or cli_env(), cwd=cwd, timeout=timeout
    )


def invoke_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``kalshi-rl ARGS`` in this process: the same Typer app, option parsing, settings and
    error handling as the installed command, without a Python start-up (about 2 s of imports).

    For the cases whose point is what a command says or does; the process boundary (entry
    point, exit status, streams, signals) has its subprocess tests (``run_cli``). ``env`` is the
    whole environment, as for ``run_cli`` (default ``cli_env()``). An exception escaping the
    command is raised here: run as a process it would have been a traceback. The root logger,
    which commands configure, is restored afterwards.
    """
    from typer.testing import CliRunner

    from kalshi_rl.cli.app import app

    wanted = env if env is not None else cli_env()
    environ: dict[str, str | None] = {name: None for name in os.environ if name not in wanted}
    environ.update(wanted)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(app, list(args), env=environ, prog_name="kalshi-rl")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def read_json_block(stream: Any) -> dict[str, Any]:
    """Read one indented JSON object (as print_json writes it) from a text stream."""
    lines = []
    for line in stream:
        lines.append(line)
        if line.rstrip() == "}":
            return json.loads("".join(lines))  # type: ignore[no-any-return]
    raise AssertionError(f"no JSON on the stream: {''.join(lines)!r}")


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    ws_url: str
    rest_url: str
    tickers: list[str]


@contextmanager
def sim_processes() -> Iterator[Callable[..., SimProcess]]:
    """Start ``kalshi-rl sim`` subprocesses (``start(*args)``); all are stopped with SIGTERM on exit."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> SimProcess:
        proc = subprocess.Popen(
            [KALSHI_RL, "sim", "--port", "0", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        procs.append(proc)
        info = read_json_block(proc.stdout)
        return SimProcess(proc, info["ws_url"], info["rest_url"], info["tickers"])

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def sim_process() -> Iterator[Callable[..., SimProcess]]:
    """Start ``kalshi-rl sim`` subprocesses for one test; all are stopped with SIGTERM afterwards."""
    with sim_processes() as start:
        yield start


@pytest.fixture(scope="module")
def module_sim_process() -> Iterator[Callable[..., SimProcess]]:
    """``sim_process`` for a whole module: for tests that each only need an exchange running
    (one start-up of ``kalshi-rl sim`` per module, not per test)."""
    with sim_processes() as start:
        yield start
