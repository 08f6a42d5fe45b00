"""``kalshi-rl sim`` serves until SIGTERM, prints its URLs once as JSON, and exits 0."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from websockets.sync.client import connect

KALSHI_RL = str(Path(sys.executable).parent / "kalshi-rl")


def test_sim_prints_urls_serves_both_protocols_and_stops_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [KALSHI_RL, "sim", "--port", "0", "--json", "--markets", "3", "--seed", "5", "--rate", "500"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        info = json.loads("".join(lines))
        assert set(info) == {"ws_url", "rest_url", "tickers"}
        assert len(info["tickers"]) == 3
        assert info["ws_url"].endswith("/trade-api/ws/v2")

        market = httpx.get(f"{info['rest_url']}/markets/{info['tickers'][0]}", timeout=5).json()["market"]
        assert market["status"] == "active"
        with connect(info["ws_url"], open_timeout=5) as ws:
            ws.send(
                json.dumps(
                    {
                        "id": 1,
                        "cmd": "subscribe",
                        "params": {"channels": ["orderbook_delta"], "market_tickers": info["tickers"]},
                    }
                )
            )
            frames = [json.loads(ws.recv(timeout=5)) for _ in range(6)]
        assert [f["type"] for f in frames[:4]] == ["subscribed"] + ["orderbook_snapshot"] * 3
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr


def test_sim_refuses_bad_settings_in_one_line() -> None:
    result = subprocess.run([KALSHI_RL, "sim", "--markets", "0"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "markets must be between 1 and 100" in result.stderr
    assert "Traceback" not in result.stderr
