"""``--log-format json`` / ``LOG_FORMAT``: every stderr line is one JSON object with the
correlation fields where known, and no line shows a secret.

Each command runs as a user runs it, at DEBUG (where the WebSocket library logs every handshake
header, the signature included), with a Kalshi key, an API token and a database password
configured; every line of its log is then parsed and searched for them.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.cli_support import KALSHI_RL, SimProcess, cli_env, invoke_cli
from tests.e2e.test_cli_errors import write_key
from tests.e2e.test_metrics_port import free_port
from tests.support.waiting import wait_until
from tests.trading.test_actor import register_model

pytestmark = pytest.mark.slow

TOKEN = "tok-3f9c2a7e51d8"
PASSWORD = "pw-b61e0c4d93"
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")  # an RSA-2048 signature is 344 characters


def secret_env(tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    """The environment of a command with every secret configured, and the strings to grep for."""
    key = tmp_path / "kalshi.pem"
    write_key(key)
    pem_lines = [ln for ln in key.read_text().splitlines() if not ln.startswith("-----")]
    env = cli_env(
        LOG_FORMAT="json",
        KALSHI_API_KEY="key-id-0a1b2c",
        KALSHI_PRIVATE_KEY_PATH=str(key),
        RL_API_TOKEN=TOKEN,
    )
    return env, [TOKEN, PASSWORD, *pem_lines]


def json_lines(stderr: str, secrets: list[str]) -> list[dict[str, Any]]:
    """Every line parsed (it must be one JSON object) after checking no secret is in it."""
    lines = []
    for line in stderr.splitlines():
        for secret in secrets:
            assert secret not in line, line
        assert not BASE64_RUN.search(line), line
        record = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(record), record
        lines.append(record)
    assert lines, "the command logged nothing: the test would prove nothing"
    return lines


def with_password(pg_url: str) -> str:
    """``pg_url`` with a password (the test server trusts loopback, so it is sent and ignored)."""
    scheme, rest = pg_url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


@pytest.mark.postgres
def test_collect_logs_json_lines_with_its_session_and_connection_and_no_secret(
    sim_process,  # type: ignore[no-untyped-def]
    pg_url: str,
    tmp_path: Path,
) -> None:
    sim: SimProcess = sim_process("--markets", "1", "--rate", "300")
    env, secrets = secret_env(tmp_path)
    env["DATABASE_URL"] = with_password(pg_url)
    assert invoke_cli("db", "upgrade", env=env).exit_code == 0
    result = subprocess.run(
        [KALSHI_RL, "collect", "-v", "--market", sim.tickers[0], "--ws-url", sim.ws_url]
        + ["--data-dir", str(tmp_path), "--duration", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = json_lines(result.stderr, secrets)
    session = json.loads(result.stdout)["session_id"]
    # The handshake's headers were logged (so the grep above had something to find) -- redacted.
    signed = [r for r in lines if "KALSHI-ACCESS-SIGNATURE" in r["message"]]
    assert signed and all(r["message"].endswith("<redacted>") for r in signed)
    assert any(r.get("session_id") == session and r.get("conn_id") == "1" for r in lines)


def test_paper_logs_json_lines_with_its_model_and_episode(
    sim_process,  # type: ignore[no-untyped-def]
    sim_lake,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    sim: SimProcess = sim_process("--markets", "1", "--rate", "200", "--seed", "3")
    register_model(sim_lake, tmp_path, "logged")
    env, secrets = secret_env(tmp_path)
    result = subprocess.run(
        [KALSHI_RL, "paper", "-v", "--model", "logged", "--market", sim.tickers[0], "--ws-url", sim.ws_url]
        + ["--data-dir", str(tmp_path), "--duration", "4", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = json_lines(result.stderr, secrets)
    traded = [r for r in lines if r.get("model") == "logged@1"]
    assert traded and all(r.get("market") == sim.tickers[0] and r.get("episode_id") for r in traded)


def test_serve_logs_json_lines_and_never_the_token(tmp_path: Path) -> None:
    env, secrets = secret_env(tmp_path)
    port = free_port()
    serve = subprocess.Popen(
        [KALSHI_RL, "serve", "-v", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{url}/rl/health").status_code == 200
            except httpx.TransportError:
                assert serve.poll() is None, serve.communicate()[1]
                return False

        wait_until(up, "the service answers", every_s=0.1)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.post(f"{url}/rl/training/stop", headers=headers).status_code == 409
        with connect(f"ws://127.0.0.1:{port}/rl/ws/training?token={TOKEN}"):
            pass  # accepted: the server logged its URL, query and all
    finally:
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=60)
    lines = json_lines(err, secrets)
    assert any(r["logger"] == "uvicorn.access" for r in lines)  # the server's own lines are JSON too
    assert any("token=<redacted>" in r["message"] for r in lines)


def test_an_unknown_log_format_is_one_line() -> None:
    result = invoke_cli("--log-format", "xml", "db", "upgrade")
    assert result.exit_code == 1
    assert "--log-format (LOG_FORMAT) must be one of text, json" in " ".join(result.output.split())
