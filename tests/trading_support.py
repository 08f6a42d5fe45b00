"""What the training and trading tests share: tiny PPO settings and runs, models made to order,
and the reconciliation of paper fills with the episode that made them (one definition each).

Importable without the train extra (what trains imports it inside the function), so the
torch-free suite can use the rest."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from kalshi_rl.agents.checkpoints import CHECKPOINT, model_dir, save_checkpoint
from kalshi_rl.core.events import Side
from kalshi_rl.core.units import COUNT_SCALE, PRICE_SCALE
from kalshi_rl.data.ingest.collector import CollectorConfig
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData, lake_time_range, preload_lake
from kalshi_rl.environments.action_space import Action
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.tape import EXEC_DEPTH, Tape
from kalshi_rl.execution.fill_engine import FillConfig
from kalshi_rl.execution.position import PositionLedger
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimExchange
from kalshi_rl.trading.session import PaperSession, PaperSessionConfig

TINY: dict[str, Any] = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "net_arch": [8]}
"""PPO small enough that a few hundred timesteps train in about a second on one core."""


def tiny_env(tick_ms: int = 200) -> EnvConfig:
    """40-tick episodes, a 20 ms order latency, and ticks long enough for a loaded machine."""
    return EnvConfig(tick_ms=tick_ms, episode_ticks=40, fill=FillConfig(20.0, 20.0))


def lake_data(sim_lake: tuple[Path, list[str]]) -> ReplayData:
    """The whole ``sim_lake`` fixture, preloaded for training."""
    data_dir, tickers = sim_lake
    lake = data_dir / "lake"
    return preload_lake(lake, tuple(tickers), *lake_time_range(lake, tuple(tickers)))


def train_tiny(
    registry: ModelRegistry,
    models_dir: Path,
    data: ReplayData,
    name: str,
    *,
    timesteps: int = 64,
    env: EnvConfig | None = None,
    parent: str | None = None,
    checkpoint_every: int = 10_000,
) -> ModelRecord:
    """A real (tiny) PPO training run; returns its final registry row (``ready``)."""
    from kalshi_rl.agents.training import Trainer, TrainRequest  # the train extra: imported here only

    request = TrainRequest(
        timesteps=timesteps,
        hyperparameters=TINY,
        env=env or tiny_env(),
        name=name,
        parent=parent,
        checkpoint_every=checkpoint_every,
    )
    return Trainer(registry, models_dir).train(request, data)


# -- models made to order -------------------------------------------------------------------


def _one_tick_tape(env: EnvConfig) -> Tape:
    """A one-tick tape: only there to give SB3 the env's spaces."""
    features = np.zeros((1, len(env.spec.book_features)), dtype=np.float32)
    asks = {side: np.zeros((1, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    return Tape("KXSCRIPT", 1, np.zeros(1, dtype=np.int64), features, np.full(1, 5_000.0), asks, None, None)


def write_scripted_checkpoint(
    registry: ModelRegistry, record: ModelRecord, action: Action, env: EnvConfig | None = None
) -> Path:
    """Save, at ``record``'s checkpoint path, a real SB3 PPO checkpoint whose policy picks
    ``action`` whatever it observes (its head's weights are 0 and its bias favours ``action``
    by e^20). Written the trainer's way: contract.json beside it, the zip renamed into place."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from kalshi_rl.agents import hyperparameters as hp
    from kalshi_rl.agents.training import Trainer
    from kalshi_rl.environments.kalshi_env import KalshiTradingEnv

    env = env or tiny_env()
    kwargs = hp.sb3_kwargs(hp.validate("ppo", TINY))
    venv = DummyVecEnv([lambda: KalshiTradingEnv([_one_tick_tape(env)], env)])
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", verbose=0, **kwargs)
    state = model.policy.state_dict()  # the live tensors: editing them edits the policy
    state["action_net.weight"].zero_()
    state["action_net.bias"].zero_()
    state["action_net.bias"][int(action)] = 20.0
    directory = Path(record.checkpoint_path).parent
    return save_checkpoint(model, directory, Trainer(registry, directory.parent).contract_file(record))


def scripted_model(
    registry: ModelRegistry,
    models_dir: Path,
    name: str,
    action: Action,
    env: EnvConfig | None = None,
    ready: bool = True,
) -> ModelRecord:
    """Register the next version of ``name`` with a scripted checkpoint (see above), the way
    the trainer does: a ``training`` row, its checkpoint, then ``ready`` (unless ``ready`` is
    False: the caller decides what happens to the file first)."""
    env = env or tiny_env()
    model_id = uuid.uuid4()
    record = registry.create(
        name=name,
        architecture="PPO",
        market_ticker="KXSCRIPT",
        checkpoint_path=str(model_dir(models_dir.resolve(), str(model_id)) / CHECKPOINT),
        hyperparameters=TINY,
        training_config={"contract": env.contract(), "scripted": Action(action).name.lower()},
        model_id=model_id,
    )
    write_scripted_checkpoint(registry, record, action, env)
    return registry.update(record.id, status="ready") if ready else record


# -- paper fills against the episode ----------------------------------------------------------


def replay_fills(fills: Iterable[Mapping[str, Any]]) -> PositionLedger:
    """Rebuild a position from ``rl_fills`` rows, exactly (prices are in the order side's frame:
    selling YES at p is buying NO at 1 - p)."""
    ledger = PositionLedger()
    for fill in sorted(fills, key=lambda f: f["timestamp"]):
        side = Side(fill["side"])
        price = int(Decimal(fill["price"]) * PRICE_SCALE)
        if fill["action"] == "sell":
            side, price = side.opposite, PRICE_SCALE - price
        fee_micro = int(Decimal(fill["fee"]).scaleb(6))
        ledger.buy(side, int(Decimal(fill["quantity"]) * COUNT_SCALE), price, fee_micro)
    return ledger


def check_episode_against_fills(
    final_position: Mapping[str, Any], fills: list[Mapping[str, Any]], orders: list[Mapping[str, Any]]
) -> None:
    """The position and fees a paper episode reports are those of its fills and orders.

    Fees: every fill carries its net fee (trade fee + rounding fee - rebate, Kalshi's fee
    rounding), and every order row the sum of its fills'; so fills and orders account for every
    cent paid, exactly.
    """
    ledger = replay_fills(fills)
    assert final_position["position_units"] == ledger.position_units
    order_fees = sum((Decimal(o["fees"]) for o in orders), Decimal(0))
    assert order_fees == Decimal(ledger.fees_micro).scaleb(-6)
    assert float(order_fees) == final_position["fees"]


def sim_paper_session(
    sim: SimExchange, model_ref: str, engine: Engine, lake_dir: Path, **config: Any
) -> PaperSession:
    """A paper session of ``model_ref`` on the local exchange's first market, $10,000 to start."""
    return PaperSession(
        PaperSessionConfig(
            model_ref=model_ref,
            market_ticker=sim.tickers[0],
            collector=CollectorConfig(
                ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
                rest_url=sim.rest_url,
                lake_dir=lake_dir,
            ),
            starting_balance_dollars=Decimal(10_000),
            **config,
        ),
        engine,
    )
