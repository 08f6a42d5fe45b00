"""The spec §8 run of ``tests/e2e/test_paper_e2e.py``, beside the test session.

Collect from the local exchange, train on it and paper-trade it for five minutes: three real
``kalshi-rl`` processes against a ``kalshi-rl sim`` process. The five minutes are wall time
whatever the machine does, so the run starts with the session (tests/support/background.py)
and the test, when its turn comes, waits for what is left of it and checks the result.
``python -m tests.support.paper_e2e DATA_DIR`` prints, as JSON, the exchange's tickers and each
command's exit status and output; the database it wrote is ``DATA_DIR/kalshi_rl.sqlite``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli_support import cli_env, run_cli, sim_processes

PAPER_SECONDS = float(os.environ.get("KALSHI_RL_E2E_PAPER_SECONDS", "300"))
TICK_MS = 250
HYPERPARAMETERS = {"n_steps": 40, "batch_size": 40, "n_epochs": 2, "net_arch": [32, 32]}


def _outcome(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def run(data_dir: Path) -> dict[str, Any]:
    """Collect, train, paper; stop at the first command that fails. Returns what each did."""
    env = cli_env(MODELS_DIR=str(data_dir / "models"))
    common = ["--data-dir", str(data_dir), "--json"]
    config = data_dir / "hp.json"
    config.write_text(json.dumps(HYPERPARAMETERS))
    with sim_processes() as start:
        sim = start("--markets", "1", "--rate", "150", "--seed", "11")
        market = sim.tickers[0]
        steps: list[tuple[str, list[str], float]] = [
            ("collect", ["collect", "--market", market, "--ws-url", sim.ws_url, "--duration", "20"], 120),
            (
                "train",
                ["train", "--market", market, "--tick-ms", str(TICK_MS), "--latency-ms", "20"]
                + ["--episode-ticks", "40", "--timesteps", "400", "--config", str(config)]
                + ["--name", "e2e", "--no-progress"],
                300,
            ),
            (
                "paper",
                ["paper", "--model", "e2e", "--ws-url", sim.ws_url, "--duration", str(PAPER_SECONDS)]
                + ["--stochastic"],
                PAPER_SECONDS + 180,
            ),
        ]
        result: dict[str, Any] = {"tickers": sim.tickers, "paper_seconds": PAPER_SECONDS, "tick_ms": TICK_MS}
        for name, args, timeout in steps:
            result[name] = _outcome(run_cli(*args, *common, env=env, timeout=timeout))
            if result[name]["returncode"] != 0:
                break
    return result


def main() -> None:
    print(json.dumps(run(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
