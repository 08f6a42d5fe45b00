"""Paper trading on the base install: a model whose weights are only ``policy.npz`` (written with
numpy, fingerprinted in ``contract.json``) trades on the local exchange, with no torch in sight.

The other paper tests make their models with SB3 (the train extra), so this is the one the
torch-free suite (``make pytest-base``) runs the actor with; there torch is not installed at all.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import numpy as np

from kalshi_rl.agents.checkpoints import CHECKPOINT, model_dir, save_checkpoint
from kalshi_rl.agents.inference_weights import FORMAT_VERSION
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.environments.action_space import N_ACTIONS, Action
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from tests.support.waiting import eventually
from tests.trading_support import TINY, sim_paper_session, tiny_env

HIDDEN = 8


class _Zip:
    """The checkpoint file the registry points at; the actor only fingerprints it."""

    def save(self, path: str) -> None:
        Path(path).write_bytes(b"no SB3 here: the policy is policy.npz")


def numpy_model(registry: ModelRegistry, models_dir: Path, name: str, action: Action) -> ModelRecord:
    """Register ``name`` with a one-hidden-layer policy that picks ``action`` whatever it sees
    (its head's weights are 0, its bias favours ``action`` by e^20), written as arrays only."""
    env = tiny_env()
    model_id = uuid.uuid4()
    record = registry.create(
        name=name,
        architecture="PPO",
        market_ticker="KXSCRIPT",
        checkpoint_path=str(model_dir(models_dir.resolve(), str(model_id)) / CHECKPOINT),
        hyperparameters=TINY,
        training_config={"contract": env.contract(), "scripted": action.name.lower()},
        model_id=model_id,
    )
    bias = np.zeros(N_ACTIONS, np.float32)
    bias[int(action)] = 20.0
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "activation": np.array("tanh"),
        "kind": np.array("actor_critic"),
        "mlp.hidden.0.weight": np.zeros((HIDDEN, env.spec.size), np.float32),
        "mlp.hidden.0.bias": np.zeros(HIDDEN, np.float32),
        "mlp.head.weight": np.zeros((N_ACTIONS, HIDDEN), np.float32),
        "mlp.head.bias": bias,
    }
    contract = {  # what Trainer.contract_file writes (not imported: it is in the train extra)
        "model_id": str(record.id),
        "name": record.name,
        "version": record.version,
        "architecture": record.architecture,
        "policy": {"activation": "tanh"},
        **env.contract(),
    }
    save_checkpoint(_Zip(), Path(record.checkpoint_path).parent, contract, arrays=arrays)
    return registry.update(record.id, status="ready")


async def test_a_model_of_numpy_arrays_only_buys_on_the_local_exchange(tmp_path: Path) -> None:
    engine = open_database(None, tmp_path)
    registry = ModelRegistry(engine)
    numpy_model(registry, tmp_path / "models", "arrays", Action.BUY_YES)
    sim = SimExchange(SimConfig(markets=1, seed=5, rate=200, record_ledger=False))
    await sim.start()
    session = sim_paper_session(sim, "arrays", engine, tmp_path / "lake")
    stop = asyncio.Event()
    await session.prepare()
    run = asyncio.create_task(session.run(stop))
    try:
        actor = session.actor
        assert actor is not None
        await eventually(lambda: actor.metrics.orders >= 2, "two paper orders")
        assert session.client is not None
        ledger = session.client.ledger(sim.tickers[0])
        await eventually(lambda: ledger.position_units > 0, "a long YES position")
        assert actor.model is not None and actor.model.label == "arrays@1"
    finally:
        stop.set()
        await run
        await sim.stop()
    assert actor.metrics.missed_ticks == 0
