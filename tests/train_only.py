"""The tests that need the ``train`` extra, named one by one, and the hooks that skip them where
the extra is not installed (``make pytest-base``: the torch-free suite on the base install).

Every other test must pass without torch, SB3, Gymnasium, Optuna, TensorBoard or matplotlib: a
test module missing from this list that imports them, directly or through the code it tests,
fails to import in the torch-free suite instead of being skipped, so the base install cannot
grow a dependency on the extra unnoticed. Entries are pytest node ids: a module (not even
imported), or one test, or one parametrized case, in a module that otherwise runs without it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from kalshi_rl.core.extras import TRAIN_EXTRA_MODULES

TRAIN_ONLY = (
    # training, evaluation, tuning and the env itself
    "tests/agents/test_evaluation_values.py",
    "tests/agents/test_fee_flags.py",
    "tests/agents/test_inference.py",
    "tests/agents/test_oracle.py",
    "tests/agents/test_policy_parity.py",
    "tests/agents/test_run_evaluation.py",
    "tests/agents/test_serve_refusals.py",
    "tests/agents/test_tensorboard_and_vec.py",
    "tests/agents/test_train_algo_cli.py",
    "tests/agents/test_train_cli.py",
    "tests/agents/test_train_series.py",
    "tests/agents/test_trainer_failures.py",
    "tests/agents/test_training_leftovers.py",
    "tests/agents/test_tune_cli.py",
    "tests/agents/test_tuning_space.py",
    "tests/agents/test_tuning_worker.py",
    "tests/environments/test_action_mask.py",
    "tests/environments/test_env_fees.py",
    "tests/environments/test_kalshi_env.py",
    "tests/parity/test_live_vs_replay.py",
    # the API's training routes (501 without the extra), and serving a model trained for the test
    "tests/api/test_actor_follows_name.py",
    "tests/api/test_auth.py::test_a_token_guards_every_mutating_route[POST-/rl/training/start-bearer]",
    "tests/api/test_auth.py::test_without_a_configured_token_every_mutating_route_is_open[POST-/rl/training/start]",
    "tests/api/test_lifecycles.py",
    "tests/api/test_prometheus.py::test_metrics_of_a_paper_run_match_the_actor_summary",
    "tests/api/test_routes.py::test_bad_input_gets_a_clear_4xx[post-/rl/training/start-body25-404-not_found]",
    "tests/api/test_routes.py::test_bad_input_gets_a_clear_4xx[post-/rl/training/start-body28-400-invalid_request]",
    "tests/api/test_routes.py::test_bad_input_gets_a_clear_4xx[post-/rl/training/start-body29-400-invalid_request]",
    "tests/browser/test_ml_tab.py",
    # paper trading a model that is trained (or scripted with SB3) for the test; the demo
    "tests/api/test_risk_routes.py",
    "tests/api/test_serve_series.py",
    "tests/cli/test_paper_interrupt.py",
    "tests/e2e/test_base_install.py::test_a_model_trained_with_sb3_paper_trades_without_the_training_packages",
    "tests/e2e/test_cli_tables.py",
    "tests/e2e/test_json_logs.py",
    "tests/e2e/test_metrics_port.py",
    "tests/e2e/test_paper_e2e.py",
    "tests/e2e/test_paper_series.py",
    "tests/e2e/test_paper_signals.py",
    "tests/trading/test_actor.py",
    "tests/trading/test_actor_clock.py",
    "tests/trading/test_hot_reload.py",
    "tests/trading/test_risk.py",
    "tests/trading/test_series_risk.py",
    "tests/trading/test_series_session.py",
)

REPO = Path(__file__).resolve().parents[1]
MISSING = sorted(m for m in TRAIN_EXTRA_MODULES if importlib.util.find_spec(m) is None)
REASON = f"needs the train extra (not installed: {', '.join(MISSING)})"
_MODULES = {REPO / node for node in TRAIN_ONLY if "::" not in node}
_TESTS = {node for node in TRAIN_ONLY if "::" in node}


def pytest_configure(config: pytest.Config) -> None:
    stale = [node for node in TRAIN_ONLY if not (REPO / node.split("::")[0]).is_file()]
    if stale:
        raise pytest.UsageError(f"tests/train_only.py names test files that do not exist: {stale}")
    if MISSING and os.environ.get("CI") and not os.environ.get("KALSHI_RL_WITHOUT_TRAIN"):
        # CI's full run must not quietly skip a third of the suite; the torch-free run says it is one.
        raise pytest.UsageError(f"CI run without the train extra ({', '.join(MISSING)} missing)")


class _NeedsTrain(pytest.Module):
    """A test module that is not imported here: it is reported as one skip instead."""

    def collect(self):  # type: ignore[no-untyped-def]
        pytest.skip(REASON)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if MISSING and module_path in _MODULES:
        return _NeedsTrain.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not MISSING:
        return
    for item in items:
        if item.nodeid in _TESTS or item.nodeid.split("[")[0] in _TESTS:
            item.add_marker(pytest.mark.skip(reason=REASON))
