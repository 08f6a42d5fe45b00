"""Benchmark: the env's cost inside each algorithm, in-process vs subprocess envs, raw env
steps/s, and preload speed; one run, so every ratio compares figures measured side by side.

1. Each ``--algo`` (``train``'s default hyperparameters, seed and timesteps, its own vec stack:
   masks for maskable_ppo) on KalshiTradingEnv and on a null env with identical spaces and
   episode length: frames/s of each and their ratio (goal >= 0.90: the env costs the algorithm
   at most 10 %).
2. PPO with ``--n-envs`` envs: ``SubprocVecEnv`` (a process per env) vs ``DummyVecEnv`` (all in
   this process): frames/s of each and their ratio.
3. Raw env steps/s with random actions.
4. Preload: DuckDB reads a 10 M-delta window of the lake into per-segment arrays (goal <= 5 s).
   The window is written once into a temporary lake with numpy (same schema as the collector's).
The env runs on the real KXETH15M capture, imported into a lake through the live path.
``python bench/train.py --timesteps 4096 --no-preload`` is a quick run (figures noisier).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from kalshi_rl.agents import hyperparameters as hp
from kalshi_rl.agents.algorithms import ALGORITHMS, get_algorithm
from kalshi_rl.agents.vec import VecSettings, close_quietly, make_vec_env
from kalshi_rl.data.ingest.capture_import import import_capture
from kalshi_rl.data.lake.tables import DELTAS, SNAPSHOTS
from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv, build_tapes

CAPTURE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "kalshi-captures"
    / "KXETH15M-26APR200200-00.jsonl"
)


class NullEnv(gym.Env[np.ndarray, np.int64]):
    """Same spaces and episode length as the Kalshi env, no work at all."""

    def __init__(self, like: KalshiTradingEnv, episode_ticks: int) -> None:
        self.observation_space = like.observation_space
        self.action_space = like.action_space
        self._obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        self._length = episode_ticks
        self._t = 0

    def reset(self, *, seed=None, options=None):  # type: ignore[no-untyped-def]
        super().reset(seed=seed)
        self._t = 0
        return self._obs, {}

    def step(self, action):  # type: ignore[no-untyped-def]
        self._t += 1
        return self._obs, 0.0, False, self._t >= self._length, {}


class _Factory:
    """Picklable env factory (``SubprocVecEnv`` sends it to each worker)."""

    def __init__(self, tapes: list, config: EnvConfig, null: bool) -> None:
        self.tapes, self.config, self.null = tapes, config, null

    def __call__(self, index: int) -> gym.Env:
        env = KalshiTradingEnv(self.tapes, self.config)
        return NullEnv(env, self.config.episode_ticks) if self.null else env


def algo_fps(factory: _Factory, algo: str, timesteps: int, n_envs: int = 1, vec: str = "dummy") -> float:
    """Frames/s of ``algo`` learning ``timesteps`` on the vec stack ``train`` builds."""
    algorithm = get_algorithm(algo)
    params = hp.validate(algo, {}, n_envs)
    settings = VecSettings(n_envs=n_envs, kind=vec, masked=algorithm.masked)
    venv = make_vec_env(factory, settings, 0, factory.config.spec)
    try:
        model = algorithm.load_class()(
            algorithm.policy, venv, seed=0, device="cpu", verbose=0, **hp.sb3_kwargs(params, algo)
        )
        started = time.perf_counter()
        model.learn(total_timesteps=timesteps)
        return timesteps / (time.perf_counter() - started)
    finally:
        close_quietly(venv)


def write_big_lake(root: Path, deltas: int, segments: int = 20) -> tuple[str, int, int]:
    market = "KXBENCH-1"
    rng = np.random.default_rng(0)
    per = deltas // segments
    t0 = 1_800_000_000_000_000_000
    for s in range(segments):
        seg_id = 1_000 + s
        start = t0 + s * per * 1_000_000
        part = root / "deltas" / f"market_ticker={market}" / "date=2027-01-15"
        part.mkdir(parents=True, exist_ok=True)
        ts = start + np.arange(per, dtype=np.int64) * 1_000_000
        table = pa.table(
            {
                "market_ticker": pa.array([market] * per),
                "ts_exchange_ms": pa.array(ts // 1_000_000),
                "ts_recv_ns": pa.array(ts),
                "session_id": pa.array(["bench"] * per),
                "conn_id": pa.array(np.ones(per, np.int32)),
                "sid": pa.array(np.ones(per, np.int32)),
                "seq": pa.array(np.arange(per, dtype=np.int64)),
                "segment": pa.array(np.full(per, seg_id, np.int64)),
                "side": pa.array(np.where(rng.random(per) < 0.5, "yes", "no")),
                "price_ticks": pa.array(rng.integers(1, 100, per, dtype=np.int32) * 100),
                "delta_units": pa.array(rng.integers(1, 1000, per, dtype=np.int64)),
                "size_after": pa.array(rng.integers(1, 1000, per, dtype=np.int64)),
            },
            schema=DELTAS.schema,
        )
        pq.write_table(table, part / f"part-{s:03d}.parquet", compression="zstd")
        snap_dir = root / "snapshots" / f"market_ticker={market}" / "date=2027-01-15"
        snap_dir.mkdir(parents=True, exist_ok=True)
        snap = pa.table(
            {
                "market_ticker": [market], "ts_exchange_ms": [None], "ts_recv_ns": [start - 1], "session_id": ["bench"],
                "conn_id": [1], "sid": [1], "seq": [0], "segment": [seg_id], "yes_prices": [[100]], "yes_sizes": [[100]],
                "no_prices": [[100]], "no_sizes": [[100]], "sample_rate": [1], "yes_price": [False],
            },
            schema=SNAPSHOTS.schema,
        )  # fmt: skip
        pq.write_table(snap, snap_dir / f"part-{s:03d}.parquet")
    return market, t0 - 1, t0 + deltas * 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timesteps", type=int, default=20_480, help="per measurement")
    parser.add_argument("--algos", default=",".join(ALGORITHMS), help="comma-separated --algo values")
    parser.add_argument("--n-envs", type=int, default=2, help="envs for subproc vs dummy")
    parser.add_argument("--no-preload", action="store_true", help="skip the 10 M-delta preload")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, torch {torch.__version__} (1 thread)"
    )
    print(f"timesteps per measurement: {args.timesteps:,}")
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "capture"
        asyncio.run(import_capture(CAPTURE, lake))
        markets = ("KXETH15M-26APR200200-00",)
        low, high = lake_time_range(lake, markets)
        config = EnvConfig(episode_ticks=200, min_episode_ticks=20)
        tapes = build_tapes(preload_lake(lake, markets, low, high + 1), config)
        env = KalshiTradingEnv(tapes, config)

        for algo in args.algos.split(","):
            fps_null = algo_fps(_Factory(tapes, config, null=True), algo, args.timesteps)
            fps_env = algo_fps(_Factory(tapes, config, null=False), algo, args.timesteps)
            print(
                f"{algo:<14} fps: null env {fps_null:>8,.0f}  Kalshi env {fps_env:>8,.0f}"
                f"   ratio {fps_env / fps_null:.3f} (goal >= 0.90)"
            )

        n = args.n_envs
        fps_dummy = algo_fps(_Factory(tapes, config, null=False), "ppo", args.timesteps, n, "dummy")
        fps_subproc = algo_fps(_Factory(tapes, config, null=False), "ppo", args.timesteps, n, "subproc")
        print(
            f"ppo x{n} envs fps: DummyVecEnv {fps_dummy:>8,.0f}  SubprocVecEnv {fps_subproc:>8,.0f}"
            f"   subproc/dummy {fps_subproc / fps_dummy:.3f}"
        )

        env.reset(seed=0)
        rng = np.random.default_rng(0)
        actions = rng.integers(5, size=200_000).tolist()
        started = time.perf_counter()
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        print(f"raw env steps/s        : {len(actions) / (time.perf_counter() - started):>10,.0f}")

        if args.no_preload:
            return
        big = Path(tmp) / "big"
        market, start, end = write_big_lake(big, 10_000_000)
        started = time.perf_counter()
        data = preload_lake(big, (market,), start, end)
        took = time.perf_counter() - started
        rows = sum(s.deltas for s in data.segments)
        print(f"preload {rows:,} deltas : {took:>10.2f} s   ({rows / took / 1e6:.1f} M rows/s; goal <= 5 s)")


if __name__ == "__main__":
    main()
