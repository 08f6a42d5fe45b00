"""``kalshi-rl serve`` as a user starts it, against a ``kalshi-rl sim`` process.

Its defaults and its environment: it listens on loopback only, ``RL_API_TOKEN`` guards the
mutating routes and the streams, ``RL_CORS_ORIGINS`` (comma separated) lists the browser origins
that get CORS headers; and it stops cleanly on SIGTERM.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.cli_support import KALSHI_RL, cli_env

pytestmark = pytest.mark.slow

TOKEN = "s3cret-from-env"
ALLOWED = ("http://localhost:5173", "http://127.0.0.1:3000")
STARTED = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")


@contextmanager
def served(
    tmp_path: Path, env: dict[str, str], *args: str
) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    """Run ``kalshi-rl serve --port 0 ARGS``; yield the process, its port and its output lines."""
    proc = subprocess.Popen(
        [KALSHI_RL, "serve", "--port", "0", "--data-dir", str(tmp_path / "data"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,  # no stray .env from the checkout
    )
    assert proc.stdout is not None
    lines: list[str] = []
    port = None
    for line in proc.stdout:  # ends at EOF if the service dies before it listens
        lines.append(line)
        found = STARTED.search(line)
        if found:
            assert found.group(1) == "127.0.0.1", line
            port = int(found.group(2))
            break
    if port is None:
        proc.wait(30)
        raise AssertionError(f"serve did not start (exit {proc.returncode}):\n{''.join(lines)}")
    # Keep draining the output so the service never blocks on a full pipe.
    drain = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    drain.start()
    try:
        yield proc, port, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        drain.join(30)


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for row in table.read_text().splitlines()[1:]:
            fields = row.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:  # four little-endian 32-bit words
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def other_addresses() -> set[str]:
    """Addresses of this machine that are not 127.0.0.1 (127.0.0.2 always routes to loopback)."""
    addresses = {"127.0.0.2"}
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    addresses.update(str(info[4][0]) for info in infos)
    addresses.discard("127.0.0.1")
    return addresses


def refuses(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=10):
            return False
    except OSError:
        return True


def preflight(http: httpx.Client, url: str, origin: str) -> httpx.Response:
    return http.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_serve_listens_on_loopback_with_token_and_cors_from_the_environment(
    tmp_path: Path,
    sim_process: Any,
) -> None:
    sim = sim_process("--markets", "1", "--rate", "150")
    market = sim.tickers[0]
    env = cli_env(RL_API_TOKEN=TOKEN, RL_CORS_ORIGINS=", ".join(ALLOWED))
    with served(tmp_path, env, "--market", market, "--ws-url", sim.ws_url) as (proc, port, lines):
        assert listening_addresses(port) == {"127.0.0.1"}
        for address in other_addresses():
            assert refuses(address, port), f"serve answers on {address}:{port}"

        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as http:
            status = http.get("/rl/status")
            assert status.status_code == 200 and status.json()["feed"]["markets"] == [market]
            model = {"name": "m", "architecture": "PPO", "market_ticker": market, "checkpoint_path": "/x"}
            assert http.post("/rl/models", json=model).status_code == 401
            authorized = {"Authorization": f"Bearer {TOKEN}"}
            assert http.post("/rl/models", json=model, headers=authorized).status_code == 201

            for origin in ALLOWED:
                answer = preflight(http, "/rl/models", origin)
                assert answer.status_code == 200, answer.text
                assert answer.headers["access-control-allow-origin"] == origin
                assert "authorization" in answer.headers["access-control-allow-headers"].lower()
                simple = http.get("/rl/models", headers={"Origin": origin})
                assert simple.headers["access-control-allow-origin"] == origin
            assert (
                "access-control-allow-origin"
                not in preflight(http, "/rl/models", "http://evil.example").headers
            )
            foreign = http.get("/rl/models", headers={"Origin": "http://evil.example"})
            assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers

        with connect(f"ws://127.0.0.1:{port}/rl/ws/orderbook?market={market}") as ws:
            assert json.loads(ws.recv(timeout=60))["data"]["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=60)
        with connect(f"ws://127.0.0.1:{port}/rl/ws/orderbook?market={market}&token={TOKEN}") as ws:
            book = json.loads(ws.recv(timeout=60))
            assert book["type"] == "orderbook_update" and book["data"]["market_ticker"] == market

        # uvicorn shuts down gracefully, then re-raises the signal (exit status -SIGTERM).
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(120) in (0, -signal.SIGTERM), "".join(lines)
        assert refuses("127.0.0.1", port)
    output = "".join(lines)
    assert "Application shutdown complete" in output, output
    assert "token=<redacted>" in output, output  # the server logs the stream's URL...
    assert TOKEN not in output  # ...but never the token
