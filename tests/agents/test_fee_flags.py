"""`kalshi-rl train` / `evaluate` fee flags: the policy lands in the train/serve contract, the
schedules charged in training are recorded, evaluate can ablate the fees, bad values are one line.

The commands run in this process (``invoke_cli``; each ``train`` or ``evaluate`` process spends
about 6 s of CPU importing torch): their process boundary is tested in test_train_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents.test_train_cli import own_env, train_here, write_config
from tests.cli_support import invoke_cli
from tests.trading_support import TINY

pytestmark = pytest.mark.slow


def test_train_records_the_fee_policy_and_evaluate_can_ablate_it(sim_lake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    env = own_env(tmp_path)
    config = write_config(tmp_path, TINY)
    flags = ("--member-precision", "0.0001", "--flat-fee", "0.02")
    result = train_here(
        data_dir, tickers, "--timesteps", "128", "--config", str(config), *flags, "--json", env=env
    )
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["training_config"]["contract"]["fill"]["fees"] == {
        "schedule": "market",
        "flat_fee_per_contract": "1/50",
        "member_precision": "1/10000",
        "rounding": "kalshi fee_rounding 2026-10-08: per match ceil $0.000001, per-order accumulator",
    }
    seen = row["training_config"]["data"]["fee_schedules"]
    assert {s["market"] for s in seen} <= set(tickers) and seen
    assert all({"fee_type", "fee_multiplier", "source", "from_ns"} <= set(s) for s in seen)

    args = ("evaluate", "--model", row["id"], "--data-dir", str(data_dir), "--json", "--no-store")
    done = invoke_cli(*args, env=env)
    assert done.exit_code == 0, done.stderr
    as_trained = json.loads(done.stdout)
    assert as_trained["fees"] == row["training_config"]["contract"]["fill"]["fees"]
    ablated = invoke_cli(*args, "--fee-schedule", "quadratic:0", env=env)
    assert ablated.exit_code == 0, ablated.stderr
    free = json.loads(ablated.stdout)
    assert free["fees"]["schedule"] == {"fee_type": "quadratic", "fee_multiplier": "0"}  # type: ignore[index]
    assert free["fees"]["member_precision"] == "1/10000"  # type: ignore[index]  # the rest is the model's
    results = {r["policy"]: r for r in free["results"]}  # type: ignore[attr-defined]
    traded = [r for r in results.values() if r["trades"]]
    assert traded and all(r["fees"] <= 0.0001 * r["trades"] * 10 for r in traded)  # rounding only


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--member-precision", "0.001", "member precision"),
        ("--fee-schedule", "cubic", "unknown fee_type 'cubic'"),
        ("--flat-fee", "-1", "flat fee must be >= 0"),
    ],
)
def test_a_bad_fee_flag_is_one_line_and_trains_nothing(
    sim_lake, tmp_path: Path, flag: str, value: str, says: str
) -> None:  # type: ignore[no-untyped-def]
    data_dir, tickers = sim_lake
    # An escaping exception fails here as a traceback would. The one-line error and exit status
    # of the ``train`` process: test_invalid_hyperparameters_are_rejected_before_training.
    result = train_here(data_dir, tickers, "--timesteps", "64", flag, value, env=own_env(tmp_path))
    assert result.exit_code == 1
    assert says in result.stderr and result.stderr.startswith("error:")
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
