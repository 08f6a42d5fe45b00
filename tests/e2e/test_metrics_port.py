"""``kalshi-rl collect|paper --metrics-port``: /health, /ready and /metrics while they run, and Ctrl-C
still stops and flushes it (the metrics server must not take the command's signals)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli_support import KALSHI_RL, SimProcess, cli_env
from tests.integration.test_metrics import parse
from tests.support.waiting import wait_until
from tests.trading.test_actor import register_model

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scraped_frames(url: str) -> float:
    try:
        samples, _ = parse(httpx.get(f"{url}/metrics", timeout=5).text)
    except httpx.TransportError:
        return 0
    return samples.get(("kalshi_rl_feed_frames_total", ()), 0)


def test_collect_serves_health_ready_and_metrics(sim_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim: SimProcess = sim_process("--markets", "1", "--rate", "500")
    port = free_port()
    proc = subprocess.Popen(
        [KALSHI_RL, "collect", "--market", sim.tickers[0], "--ws-url", sim.ws_url]
        + ["--data-dir", str(tmp_path), "--json", "--metrics-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        seen = wait_until(lambda: scraped_frames(url) > 50, "frames counted on /metrics", every_s=0.1)
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 200, ready.text
        assert [c["name"] for c in ready.json()["checks"]] == ["feed", "books", "sinks", "backlog"]
        assert httpx.get(f"{url}/rl/ready").status_code == 200  # the path serve's probe uses
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out)["frames"] >= seen


def test_paper_serves_the_actor_metrics_and_stops_on_sigterm(  # type: ignore[no-untyped-def]
    sim_process, sim_lake, tmp_path: Path
) -> None:
    sim: SimProcess = sim_process("--markets", "1", "--rate", "200", "--seed", "12")
    register_model(sim_lake, tmp_path, "metered")
    port = free_port()
    paper = subprocess.Popen(
        [KALSHI_RL, "paper", "--model", "metered", "--market", sim.tickers[0], "--ws-url", sim.ws_url]
        + ["--data-dir", str(tmp_path), "--json", "--metrics-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    url = f"http://127.0.0.1:{port}"

    def decisions() -> float:
        try:
            samples, _ = parse(httpx.get(f"{url}/metrics", timeout=5).text)
        except httpx.TransportError:
            assert paper.poll() is None, paper.communicate()[1]
            return 0
        return samples.get(("kalshi_rl_actor_decisions_total", ()), 0)

    try:
        seen = wait_until(lambda: decisions() >= 3, "decisions counted on /metrics", every_s=0.1)
        samples, types = parse(httpx.get(f"{url}/metrics").text)
        assert types["kalshi_rl_actor_decision_latency_seconds"] == "histogram"
        assert ("kalshi_rl_actor_position_contracts", (("market", sim.tickers[0]),)) in samples
        assert httpx.get(f"{url}/ready").status_code == 200
    finally:
        paper.send_signal(signal.SIGTERM)
        out, err = paper.communicate(timeout=120)
    assert paper.returncode == 0, err
    assert json.loads(out)["decisions"] >= seen
