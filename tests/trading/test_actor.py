"""TradingActor on the real local exchange: hot reload without a missed tick, refusals, logging;
and on a hand-made live book: ticks that a long decision passes over, a stale book."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from kalshi_rl.agents.training import Trainer, TrainRequest
from kalshi_rl.core.errors import LiveModeRefusedError
from kalshi_rl.core.events import BookSnapshot
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.ingest.collector import CollectorConfig
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.storage.database import open_database
from kalshi_rl.data.storage.schema import rl_fills, rl_orders, trading_actions, trading_episodes
from kalshi_rl.kalshi.ws_client import WsConfig
from kalshi_rl.sim.exchange import SimConfig, SimExchange
from kalshi_rl.trading.actor import TradingActor
from kalshi_rl.trading.actor_config import ActorConfig
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, PaperConfig
from kalshi_rl.trading.session import PaperSession, PaperSessionConfig
from kalshi_rl.trading.tick_grid import format_wall_ns
from tests.support.waiting import eventually
from tests.trading_support import (
    TINY,
    check_episode_against_fills,
    lake_data,
    sim_paper_session,
    tiny_env,
    train_tiny,
)

pytestmark = pytest.mark.slow


def train(
    registry: ModelRegistry, models: Path, sim_lake, name: str, tick_ms: int = 200, parent: str | None = None
):  # type: ignore[no-untyped-def]
    return train_tiny(registry, models, lake_data(sim_lake), name, env=tiny_env(tick_ms), parent=parent)


async def test_hot_reload_switches_models_between_ticks_and_refuses_bad_checkpoints(
    sim_lake, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(None, tmp_path)
    registry = ModelRegistry(engine)
    models = tmp_path / "models"
    first = await asyncio.to_thread(train, registry, models, sim_lake, "hot")
    sim = SimExchange(SimConfig(markets=1, seed=9, rate=300, record_ledger=False))
    await sim.start()
    session = sim_paper_session(sim, "hot", engine, tmp_path / "lake", deterministic=False)
    stop = asyncio.Event()
    await session.prepare()
    run = asyncio.create_task(session.run(stop))
    try:
        actor = session.actor
        assert actor is not None
        await eventually(lambda: actor.metrics.decisions >= 5)
        assert actor.model is not None and actor.model.label == "hot@1"
        await _check_ticks_are_free_of_gc_and_warm_up_changes_nothing(actor)

        # A new version of the same name (fine-tuned, same contract) takes over between ticks.
        second = await asyncio.to_thread(train, registry, models, sim_lake, "hot", parent="hot@1")
        written = Path(second.checkpoint_path).stat().st_mtime_ns
        await eventually(lambda: actor.model is not None and actor.model.label == "hot@2")
        assert actor.metrics.reloads == 1
        assert actor.model.loaded_ns > written  # how soon after: bench/actor.py (hot reload)

        # A corrupt checkpoint never stops the actor: it keeps hot@2 and keeps ticking.
        decisions = actor.metrics.decisions
        bad = Path(second.checkpoint_path)
        tmp = bad.with_name(".garbage.zip")
        tmp.write_bytes(b"not a zip")
        os.replace(tmp, bad)
        await eventually(lambda: actor.metrics.reload_refusals >= 1)
        await eventually(lambda: actor.metrics.decisions >= decisions + 5)
        assert actor.model.label == "hot@2"

        # A version trained under another contract (another tick) is refused.
        await asyncio.to_thread(train, registry, models, sim_lake, "hot", 300)
        refusals = actor.metrics.reload_refusals
        await eventually(lambda: actor.metrics.reload_refusals > refusals)
        assert actor.model.label == "hot@2" and "contract" in actor.metrics.last_reload_error
        assert actor.metrics.missed_ticks == 0
    finally:
        stop.set()
        await run
        await sim.stop()
    assert gc.isenabled()  # deferred inside ticks (simulated latency included), never left off

    with engine.connect() as conn:
        actions = conn.execute(select(func.count()).select_from(trading_actions)).scalar()
        episode = (
            conn.execute(select(trading_episodes).where(trading_episodes.c.mode == "paper")).mappings().one()
        )
        fills = conn.execute(select(rl_fills)).mappings().all()
        order_rows = conn.execute(select(rl_orders)).mappings().all()
    orders = len(order_rows)
    assert actions == actor.metrics.decisions > 10
    assert episode["end_time"] is not None and episode["total_steps"] == actor.metrics.ticks
    assert episode["model_id"] == first.id
    assert orders == actor.metrics.orders > 0
    # The position and fees the episode reports are those of the fills and orders in the database.
    check_episode_against_fills(episode["final_position"], list(fills), list(order_rows))


async def _check_ticks_are_free_of_gc_and_warm_up_changes_nothing(actor) -> None:  # type: ignore[no-untyped-def]
    # The warm-up before each tick leaves the policy's generator and the mid history alone.
    assert actor._observer is not None
    rng_state, mids = actor._rng.bit_generator.state, list(actor._observer.history._mids)
    actor._warm_up(time.time_ns())
    assert actor._rng.bit_generator.state == rng_state and list(actor._observer.history._mids) == mids

    # A garbage collection that falls due inside a tick runs right after it, not inside it.
    inside, during, after = [False], [], []
    on_tick = actor.on_tick

    async def tick_making_garbage(tick_ns: int, due_ns: int | None = None) -> None:
        inside[0] = True
        try:
            for _ in range(5_000):  # well past gen0's threshold of container allocations
                cycle: list[object] = []
                cycle.append(cycle)
            await on_tick(tick_ns, due_ns)
        finally:
            inside[0] = False

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            (during if inside[0] else after).append(info["generation"])

    gc.callbacks.append(seen)
    actor.on_tick = tick_making_garbage  # type: ignore[method-assign]
    try:
        ticks = actor.metrics.ticks
        await eventually(lambda: actor.metrics.ticks >= ticks + 3)
    finally:
        actor.on_tick = on_tick
        gc.callbacks.remove(seen)
    assert during == [] and after


def test_live_mode_is_refused_everywhere(tmp_path: Path) -> None:
    with pytest.raises(LiveModeRefusedError):
        ActorConfig("KX", "m", mode="live")
    with pytest.raises(LiveModeRefusedError):
        PaperSession(
            PaperSessionConfig(
                "m", "KX", CollectorConfig(WsConfig("ws://x", ("KX",)), "http://x", tmp_path), mode="live"
            ),
            open_database(None, tmp_path),
        )


# -- an actor on a hand-made live book -------------------------------------------------------

TICKER = "KXTEST-26JAN01-T50"


def register_model(sim_lake, root: Path, name: str) -> ModelRegistry:  # type: ignore[no-untyped-def]
    """A registry in ``root`` with model ``name`` (200 ms ticks) trained on the sim's lake."""
    registry = ModelRegistry(open_database(None, root))
    train(registry, root / "models", sim_lake, name)
    return registry


@pytest.fixture(scope="module")
def registry(sim_lake, tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:  # type: ignore[no-untyped-def]
    return register_model(sim_lake, tmp_path_factory.mktemp("actor"), "tick")


def live_book() -> SharedOrderbookState:
    """A fresh book (YES 0.40 bid, 0.50 ask) whose gap-free segment began a minute ago."""
    shared = SharedOrderbookState(TICKER)
    start = time.time_ns() - 60 * 10**9
    shared.state.apply_snapshot(
        BookSnapshot(TICKER, 1, 1, ((4_000, 10_000),), ((5_000, 10_000),), None, start)
    )
    shared.segment, shared.segment_start_ns = 1, start
    shared.touch()
    return shared


def actor_on(shared: SharedOrderbookState, registry: ModelRegistry, **config: Any) -> TradingActor:
    """An actor trading model ``tick`` on ``shared`` through a paper client without latency."""
    client = KalshiPaperTradingClient({TICKER: shared}, PaperConfig(latency_min_ms=0.0, latency_max_ms=0.0))
    return TradingActor(ActorConfig(TICKER, "tick", **config), registry, client, shared)


@contextlib.asynccontextmanager
async def trading(actor: TradingActor) -> AsyncIterator[list[tuple[int, int]]]:
    """Run ``actor`` (its paper client too); yield, for each tick it decides or holds, its stamp
    and the (real, monotonic) time the actor got to it."""
    await actor.start()
    ticks: list[tuple[int, int]] = []
    on_tick = actor.on_tick

    async def recording(tick_ns: int, due_ns: int | None = None) -> None:
        ticks.append((tick_ns, time.monotonic_ns()))
        await on_tick(tick_ns, due_ns)

    actor.on_tick = recording  # type: ignore[method-assign]
    stop = asyncio.Event()
    await actor.client.start()  # type: ignore[attr-defined]
    run = asyncio.create_task(actor.run(stop))
    try:
        yield ticks
    finally:
        stop.set()
        await run
        await actor.client.close()  # type: ignore[attr-defined]


class OverrunningPolicy:
    """The model's policy, except that its ``at``-th decision blocks until 3.5 ticks after its tick."""

    def __init__(self, policy: Any, ticks: list[tuple[int, int]], tick_ns: int, at: int) -> None:
        self.policy, self.ticks, self.tick_ns, self.at = policy, ticks, tick_ns, at
        self.calls = 0
        self.overran_at: int | None = None

    def initial_state(self) -> Any:
        return self.policy.initial_state()

    def decide(
        self, observation: np.ndarray, state: Any = None, rng: np.random.Generator | None = None
    ) -> Any:
        if rng is None:  # a (deterministic) decision; the warm-up's passes draw from their own generator
            self.calls += 1
            if self.calls == self.at:
                self.overran_at = self.ticks[-1][0]
                time.sleep(max(0, self.overran_at + 7 * self.tick_ns // 2 - time.time_ns()) / 1e9)
        return self.policy.decide(observation, state, rng)


async def test_a_decision_that_overruns_counts_every_grid_tick_it_passed_over(
    registry: ModelRegistry,
) -> None:
    actor = actor_on(live_book(), registry)
    async with trading(actor) as ticks:
        assert actor.model is not None
        tick_ns = actor.model.env.tick_ms * 1_000_000
        policy = OverrunningPolicy(actor.model.policy, ticks, tick_ns, at=3)
        actor.model = replace(actor.model, policy=policy)  # type: ignore[arg-type]
        await eventually(lambda: policy.overran_at is not None and actor.metrics.ticks >= policy.at + 3)
    assert policy.overran_at is not None
    stamps = [stamp for stamp, _ in ticks]
    # Every grid tick between the first and the last is either decided or counted missed.
    assert all(stamp % tick_ns == 0 for stamp in stamps)
    passed_over = sum((b - a) // tick_ns - 1 for a, b in itertools.pairwise(stamps))
    assert actor.metrics.missed_ticks == passed_over >= 2
    # The overrunning decision ended 3.5 ticks after its tick: the next two grid ticks passed
    # meanwhile (missed), the third was decided (late) at once.
    overran = stamps.index(policy.overran_at)
    assert stamps[overran + 1] - stamps[overran] == 3 * tick_ns
    assert actor.metrics.ticks == len(stamps) == actor.metrics.decisions


async def test_a_stale_book_holds_without_orders_and_says_why(
    registry: ModelRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kalshi_rl.trading.actor")
    shared = live_book()
    actor = actor_on(shared, registry, deterministic=False)  # sampled actions: it trades while it can
    messages = actor.subscribe()
    async with trading(actor):
        await eventually(lambda: actor.metrics.decisions >= 3)
        last_update_ns = shared.state.last_update_ns
        shared.state.stale = True  # what the feed does on a sequence gap, until the resync's snapshot
        shared.touch()
        await eventually(lambda: actor.metrics.skipped_stale >= 1)
        decisions, orders = actor.metrics.decisions, actor.metrics.orders
        await eventually(lambda: actor.metrics.skipped_stale >= 4)
        assert (actor.metrics.decisions, actor.metrics.orders) == (decisions, orders)
        reason = actor.metrics.hold_reason
        assert reason.startswith("book stale since ") and format_wall_ns(last_update_ns) in reason

        now = time.time_ns()
        shared.state.apply_snapshot(
            BookSnapshot(TICKER, 1, 9, ((4_100, 10_000),), ((5_000, 10_000),), None, now)
        )
        shared.segment, shared.segment_start_ns = 2, now - 10**9  # a tick racing it is not held
        shared.touch()
        await eventually(lambda: actor.metrics.decisions >= decisions + 2)
        assert actor.metrics.hold_reason == ""
    held = actor.metrics.skipped_stale
    sent = [messages.get_nowait() for _ in range(messages.qsize())]
    holds = [m["data"] for m in sent if m["type"] == "hold"]
    assert len(holds) == held and {h["reason"] for h in holds} == {reason}
    assert [h["skipped_stale"] for h in holds] == list(range(1, held + 1))
    assert sum(m["type"] == "action" for m in sent) == actor.metrics.decisions
    logged = [r.getMessage() for r in caplog.records if r.name == "kalshi_rl.trading.actor"]
    assert [m for m in logged if "holding" in m] == [f"{TICKER}: holding (no order): {reason}"]
    assert f"trading again after {held} held tick(s)" in logged


# -- a recurrent model: its state carried across ticks, afresh per book segment --------------


@pytest.fixture(scope="module")
def recurrent_registry(sim_lake, tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:  # type: ignore[no-untyped-def]
    """A registry whose model ``tick`` is a tiny RecurrentPPO trained on the sim's lake."""
    root = tmp_path_factory.mktemp("recurrent")
    registry = ModelRegistry(open_database(None, root))
    request = TrainRequest(
        algo="recurrent_ppo",
        timesteps=64,
        hyperparameters={**TINY, "lstm_hidden_size": 8},
        env=tiny_env(),
        name="tick",
    )
    assert Trainer(registry, root / "models").train(request, lake_data(sim_lake)).status == "ready"
    return registry


class StateRecorder:
    """The model's policy, recording the book segment and the recurrent state of each decision."""

    def __init__(self, policy: Any, actor: TradingActor) -> None:
        self.policy, self.actor = policy, actor
        self.seen: list[tuple[int, Any]] = []

    def initial_state(self) -> Any:
        return self.policy.initial_state()

    def decide(
        self, observation: np.ndarray, state: Any = None, rng: np.random.Generator | None = None
    ) -> Any:
        if rng is None:  # a decision (deterministic); the warm-up's passes draw from their own generator
            assert self.actor._observer is not None
            self.seen.append((self.actor._observer.segment, state))
        return self.policy.decide(observation, state, rng)


async def test_a_recurrent_model_carries_its_state_across_ticks_and_resets_it_at_a_new_segment(
    recurrent_registry: ModelRegistry,
) -> None:
    shared = live_book()
    actor = actor_on(shared, recurrent_registry)
    async with trading(actor):
        await eventually(lambda: actor.metrics.decisions >= 1)
        assert actor.model is not None and actor.model.policy.recurrent
        recorder = StateRecorder(actor.model.policy, actor)
        actor.model = replace(actor.model, policy=recorder)  # type: ignore[arg-type]
        await eventually(lambda: len(recorder.seen) >= 4)
        now = time.time_ns()
        shared.state.apply_snapshot(
            BookSnapshot(TICKER, 1, 9, ((4_100, 10_000),), ((5_000, 10_000),), None, now)
        )
        shared.segment, shared.segment_start_ns = 2, now - 10**9  # a gap: the book starts afresh
        shared.touch()
        await eventually(lambda: sum(segment == 2 for segment, _ in recorder.seen) >= 3)

    def fresh(state: Any) -> bool:
        return all(not np.any(part) for part in state)

    first, second = ([s for seg, s in recorder.seen if seg == n] for n in (1, 2))
    assert fresh(first[0]) and fresh(second[0])  # a new policy; a new segment
    assert not any(fresh(s) for s in first[1:]) and not any(fresh(s) for s in second[1:])  # carried
