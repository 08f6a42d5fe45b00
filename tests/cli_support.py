"""Run the real ``kalshi-rl`` command in subprocesses, with a real local exchange (a pytest plugin)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture
def sim_process() -> Iterator[Any]:
    """Start ``kalshi-rl sim`` subprocesses; all are stopped with SIGTERM afterwards."""
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

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
