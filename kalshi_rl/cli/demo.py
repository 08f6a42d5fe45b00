"""``kalshi-rl demo``: the whole loop on the local exchange, in one command, no credentials.

local exchange (``sim``) -> ``collect`` into a lake -> ``train`` PPO -> ``evaluate`` against
baselines -> ``paper`` trade the new model on the live local feed. Everything lands in one
directory (lake, SQLite registry, checkpoints), so ``kalshi-rl inspect ... --data-dir DIR``
shows it afterwards.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import typer

from kalshi_rl.cli.common import console, setup_logging, user_errors
from kalshi_rl.cli.tables import dollars, position


@user_errors
def demo(
    directory: Path = typer.Option(
        Path("demo"), "--dir", help="Where the demo's data, registry and models go."
    ),
    collect_seconds: float = typer.Option(120.0, min=10.0, help="Seconds of live data to record first."),
    timesteps: int = typer.Option(40_000, min=100, help="PPO timesteps."),
    paper_seconds: float = typer.Option(60.0, min=5.0, help="Seconds of paper trading at the end."),
    tick_ms: int = typer.Option(250, min=50, help="Step length in ms (the env's and the actor's)."),
    seed: int = typer.Option(7, help="Seed of the local exchange and of training."),
) -> None:
    """Run sim -> collect -> train -> evaluate -> paper end to end on the local exchange."""
    setup_logging(quiet=True)
    asyncio.run(_demo(directory, collect_seconds, timesteps, paper_seconds, tick_ms, seed))


async def _demo(
    directory: Path, collect_s: float, timesteps: int, paper_s: float, tick_ms: int, seed: int
) -> None:
    from kalshi_rl.agents.evaluation import ModelPolicy, evaluate
    from kalshi_rl.agents.inference import load_policy
    from kalshi_rl.agents.training import Trainer, TrainRequest
    from kalshi_rl.cli.evaluate import metrics_table
    from kalshi_rl.cli.paper import summary
    from kalshi_rl.data.ingest.collector import Collector, CollectorConfig
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.replay.lake import lake_time_range, preload_lake
    from kalshi_rl.data.storage.database import open_database
    from kalshi_rl.environments.contract import EnvConfig
    from kalshi_rl.environments.kalshi_env import build_tapes
    from kalshi_rl.execution.fill_engine import FillConfig
    from kalshi_rl.kalshi.ws_client import WsConfig
    from kalshi_rl.sim.exchange import SimConfig, SimExchange
    from kalshi_rl.trading.session import PaperSession, PaperSessionConfig

    lake = directory / "lake"
    engine = open_database(None, directory)
    registry = ModelRegistry(engine)
    sim = SimExchange(SimConfig(markets=2, seed=seed, rate=150, record_ledger=False))
    await sim.start()
    try:
        console.print(f"[bold]1/5 local exchange[/] {sim.ws_url}: {', '.join(sim.tickers)}")
        collector_config = CollectorConfig(
            ws=WsConfig(url=sim.ws_url, market_tickers=tuple(sim.tickers)),
            rest_url=sim.rest_url,
            lake_dir=lake,
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(collect_s, stop.set)
        with console.status(f"2/5 collecting {collect_s:.0f} s of books into {lake} ..."):
            collected = await Collector(collector_config).run(stop)
        deltas = sum(m.deltas for m in collected.markets.values())
        console.print(
            f"[bold]2/5 collected[/] {collected.frames:,} frames, {deltas:,} deltas, gaps {collected.ws.gaps}"
        )

        markets = tuple(sim.tickers)
        data = preload_lake(lake, markets, *lake_time_range(lake, markets))
        env = EnvConfig(tick_ms=tick_ms, episode_ticks=120, fill=FillConfig(20.0, 20.0))
        request = TrainRequest(
            timesteps=timesteps,
            env=env,
            name="demo",
            seed=seed,
            hyperparameters={"n_steps": 256, "batch_size": 64},
        )
        trainer = Trainer(registry, directory / "models")
        with console.status(
            f"3/5 training PPO for {timesteps:,} timesteps on {len(data.segments)} segment(s) ..."
        ):
            record = await asyncio.to_thread(trainer.train, request, data)
        console.print(
            f"[bold]3/5 trained[/] {record.label} ({record.status}), {record.training_episodes:,} episodes"
        )

        tapes = build_tapes(data, env)
        policy = load_policy(Path(record.checkpoint_path))
        results = await asyncio.to_thread(
            evaluate, ModelPolicy(record.label, lambda o: policy.act(o)[0]), tapes, env, seed
        )
        console.print("[bold]4/5 evaluated[/] (in-sample: the demo has only one window)")
        console.print(metrics_table(f"{record.label} vs baselines", [m.to_dict() for m in results]))

        session = PaperSession(
            PaperSessionConfig(record.label, sim.tickers[0], collector_config, Decimal(1_000)), engine
        )
        stop = asyncio.Event()
        await session.prepare()
        asyncio.get_running_loop().call_later(paper_s, stop.set)
        with console.status(f"5/5 paper trading {record.label} on {sim.tickers[0]} for {paper_s:.0f} s ..."):
            await session.run(stop)
        assert session.client is not None
        done = summary(session, await session.client.get_balance())
        console.print(
            f"[bold]5/5 paper traded[/] {done['decisions']} decisions, {done['orders']} orders, "
            f"position {position(done['position_units'])}, fees {dollars(done['fees'], 4)}, "
            f"decision latency p50 {done['decision_latency']['p50_us']:,.0f} µs / p99 {done['decision_latency']['p99_us']:,.0f} µs"
        )
        console.print(
            f"see it all: kalshi-rl inspect models --data-dir {directory}; kalshi-rl inspect episodes --data-dir {directory}"
        )
    finally:
        await sim.stop()
