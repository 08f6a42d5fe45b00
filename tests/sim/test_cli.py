"""``kalshi-rl sim`` serves until SIGTERM, prints its URLs once as JSON, and exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def test_sim_help_lists_the_schedule_and_the_limits() -> None:
    result = subprocess.run(
        [KALSHI_RL, "sim", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    for flag in (
        "--pause-every",
        "--pause-seconds",
        "--fee-update-every",
        "--close-date-update-at",
        "--price-grid-update-at",
        "--metadata-update-at",
        "--encoding-switch-at",
        "--create-event-at",
        "--price-encoding",
        "--max-markets-per-subscription",
        "--command-rate",
        "--strike-tickers",
        "--fee-type",
        "--series",
        "--roll-seconds",
        "--overlap",
        "--markets-per-event",
        "--keep-settled",
    ):
        assert flag in result.stdout, flag


def test_sim_runs_its_schedule_with_strike_tickers() -> None:
    proc = subprocess.Popen(
        [
            KALSHI_RL, "sim", "--port", "0", "--json", "--strike-tickers", "--rate", "100",
            "--fee-update-every", "0.5", "--fee-type", "flat", "--fee-multiplier", "0.5",
            *[arg for at in ("1", "2", "3", "5", "8") for arg in ("--create-event-at", at)],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        info = json.loads("".join(lines))
        assert info["tickers"] == ["KXSIM-26JAN08-T99.99", "KXSIM-26JAN08-T199.99"]
        series = httpx.get(f"{info['rest_url']}/series/KXSIM", timeout=5).json()["series"]
        assert (series["fee_type"], series["fee_multiplier"]) == ("flat", 0.5)
        seen: set[str] = set()
        with connect(info["ws_url"], open_timeout=5) as ws:
            ws.send(
                json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}})
            )
            while not {"event_lifecycle", "event_fee_update", "created"} <= seen:
                frame = json.loads(ws.recv(timeout=10))
                seen.add(
                    frame["msg"].get("event_type", frame["type"]) if frame["type"] != "subscribed" else ""
                )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr


def test_sim_rolls_several_series_and_lists_them_over_rest() -> None:
    proc = subprocess.Popen(
        [
            KALSHI_RL, "sim", "--port", "0", "--json", "--rate", "200", "--open-delay", "0.5",
            "--settlement-delay", "0.2", "--series", "KXBTC15M:1.5:0.5", "--series", "KXETH1M",
            "--roll-seconds", "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        info = json.loads("".join(lines))
        assert [
            (s["ticker"], s["roll_seconds"], s["overlap_seconds"], s["ticker_minutes"])
            for s in info["series"]
        ] == [
            ("KXBTC15M", 1.5, 0.5, 15),
            ("KXETH1M", 0.5, 0.0, 1),
        ]
        assert info["tickers"] == ["KXBTC15M-26JAN080015-15", "KXETH1M-26JAN080001-01"]
        seen: dict[tuple[str, str], set[str]] = {}
        deadline = time.monotonic() + 30
        while not all(len(seen.get((s, "settled"), ())) >= 2 for s in ("KXBTC15M", "KXETH1M")):
            assert time.monotonic() < deadline, seen
            for series in ("KXBTC15M", "KXETH1M"):
                for status in ("unopened", "open", "settled"):
                    url = f"{info['rest_url']}/markets?series_ticker={series}&status={status}"
                    markets = httpx.get(url, timeout=5).json()["markets"]
                    assert all(m["ticker"].startswith(series + "-") for m in markets)
                    seen.setdefault((series, status), set()).update(m["ticker"] for m in markets)
            time.sleep(0.1)
        assert seen[("KXETH1M", "unopened")] and seen[("KXBTC15M", "open")]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr


def test_sim_refuses_several_series_without_a_roll_period_in_one_line() -> None:
    result = subprocess.run(
        [KALSHI_RL, "sim", "--series", "KXA", "--series", "KXB"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "give each a period (TICKER:SECONDS) or --roll-seconds" in result.stderr
    assert "Traceback" not in result.stderr
