"""Hot reload while the actor trades a live book (spec §4.5), on SQLite and on PostgreSQL.

A checkpoint that is gone is refused, logged once, counted, and trading goes on with the model
in hand; a checkpoint rewritten in place (same version) is picked up at the next tick; a model
trained while the actor trades takes over once it is ready, never before. Every test checks its
ticks against the grid from the action log: from the first decided tick to the last, every grid
tick has exactly one ``trading_actions`` row (none missed, none held), and the row says which
model decided it.

Models are real SB3 checkpoints. The scripted ones (``tests.trading_support``) always hold or
always buy YES, so the action log shows which checkpoint decided each tick.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.core.events import Side
from kalshi_rl.data.book.shared_state import SharedOrderbookState
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.sql_queue import ActionWriteQueue, OrderWriteQueue
from kalshi_rl.data.storage.schema import rl_fills, rl_orders, trading_actions
from kalshi_rl.environments.action_space import Action
from kalshi_rl.trading.actor import TradingActor
from kalshi_rl.trading.actor_config import ActorConfig
from kalshi_rl.trading.paper_client import KalshiPaperTradingClient, PaperConfig
from tests.trading.conftest import TICKER, eventually, make_book, market_info
from tests.trading_support import (
    check_episode_against_fills,
    lake_data,
    scripted_model,
    train_tiny,
    write_scripted_checkpoint,
)

TICK_MS = 200  # tiny_env's tick, the contract of every model here
WAIT_S = 60.0  # only a bound for a broken run: every wait below is for an event


def live_book() -> SharedOrderbookState:
    """A book the actor can trade (YES 0.48 bid / 0.52 ask), in its first gap-free segment."""
    book = make_book(yes_bids=[("0.4800", "500.00")], yes_asks=[("0.5200", "500.00")], info=market_info())
    book.segment = 1  # what the collector sets on the first snapshot
    return book


async def feed(book: SharedOrderbookState, stop: asyncio.Event) -> None:
    """Move the book every 50 ms, as the feed does, on the loop the actor runs on."""
    for step in itertools.count():
        if stop.is_set():
            return
        book.state.apply_delta(Side.YES, 4_000, 100 if step % 2 == 0 else -100)  # a YES bid at 0.40
        book.touch()
        await asyncio.sleep(0.05)


@asynccontextmanager
async def trading(
    database: Engine, model_ref: str, deterministic: bool = True
) -> AsyncIterator[TradingActor]:
    """A paper session on a live hand-fed book: client, actor, order and action logs; every
    queue is flushed and the episode closed on the way out."""
    book = live_book()
    orders = OrderWriteQueue(database, flush_interval_s=0.2)
    actions = ActionWriteQueue(database, flush_interval_s=0.2)
    paper = PaperConfig(latency_min_ms=20.0, latency_max_ms=20.0)  # the contract's latency
    client = KalshiPaperTradingClient({TICKER: book}, paper, order_queue=orders)
    registry = ModelRegistry(database)
    config = ActorConfig(TICKER, model_ref, reload_poll_s=0.05, deterministic=deterministic)
    actor = TradingActor(config, registry, client, book, actions)
    stop = asyncio.Event()
    orders.start()
    actions.start()
    await client.start()
    tasks = [asyncio.create_task(actor.run(stop)), asyncio.create_task(feed(book, stop))]
    try:
        yield actor
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await client.close()
        await actions.close()
        await orders.close()


async def more_decisions(actor: TradingActor, count: int) -> None:
    decided = actor.metrics.decisions
    await eventually(lambda: actor.metrics.decisions >= decided + count, timeout_s=WAIT_S)


def action_log(database: Engine) -> list[dict[str, Any]]:
    with database.connect() as connection:
        query = select(trading_actions).order_by(trading_actions.c.timestamp)
        return [dict(row) for row in connection.execute(query).mappings()]


def check_every_grid_tick_decided(actor: TradingActor, log: list[dict[str, Any]]) -> None:
    """From the first tick to the last, one decision per grid tick: none missed, none held."""
    stamps = [row["timestamp"] for row in log]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [TICK_MS] * (len(stamps) - 1)
    assert all(stamp % TICK_MS == 0 for stamp in stamps)
    assert len(log) == actor.metrics.decisions == actor.metrics.ticks
    assert actor.metrics.missed_ticks == 0 and actor.metrics.skipped_stale == 0


def split_at_switch(actor: TradingActor, log: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The rows before the one switch and from it on (the first tick the new model decided)."""
    ((_, switch_ns),) = actor.metrics.switches or []
    stamps = [row["timestamp"] for row in log]
    first = stamps.index(switch_ns // 1_000_000)
    return log[:first], log[first:]


def check_episode(database: Engine, actor: TradingActor, model: ModelRecord) -> None:
    (episode,) = ModelRegistry(database).episodes(model.id, mode="paper")
    assert episode["end_time"] is not None and episode["total_steps"] == actor.metrics.ticks
    assert episode["metadata"]["reloads"] == actor.metrics.reloads
    with database.connect() as connection:
        fills = list(connection.execute(select(rl_fills)).mappings())
        orders = list(connection.execute(select(rl_orders)).mappings())
    assert len(orders) == actor.metrics.orders
    check_episode_against_fills(episode["final_position"], fills, orders)


async def test_a_rewritten_checkpoint_of_the_running_version_is_picked_up_at_the_next_tick(
    database: Engine, tmp_path: Path
) -> None:
    registry = ModelRegistry(database)
    model = scripted_model(registry, tmp_path / "models", "hot", Action.HOLD)
    async with trading(database, "hot@1") as actor:  # pinned: the same row throughout
        await more_decisions(actor, 3)
        await asyncio.to_thread(write_scripted_checkpoint, registry, model, Action.BUY_YES)
        rewritten_ns = Path(model.checkpoint_path).stat().st_mtime_ns
        await eventually(lambda: actor.metrics.reloads == 1, timeout_s=WAIT_S)
        await more_decisions(actor, 3)
        loaded = actor.model
    assert loaded is not None and loaded.record.id == model.id and loaded.label == "hot@1"
    assert loaded.mtime_ns == rewritten_ns
    ((label, switch_ns),) = actor.metrics.switches or []
    # The next tick: the first grid tick after the load finished, or the second if one was
    # already starting then. Never later: nothing waits for a restart or another poll.
    tick_ns = TICK_MS * 1_000_000
    assert label == "hot@1" and 0 <= switch_ns // tick_ns - loaded.loaded_ns // tick_ns <= 2
    log = action_log(database)
    check_every_grid_tick_decided(actor, log)
    before, after = split_at_switch(actor, log)
    assert before and {row["action"] for row in before} == {Action.HOLD}  # the old checkpoint's
    assert after and {row["action"] for row in after} == {Action.BUY_YES}  # the new one's, at once
    assert {row["action_details"]["model"] for row in log} == {"hot@1"}
    check_episode(database, actor, model)


async def test_a_missing_checkpoint_is_refused_logged_once_counted_and_trading_goes_on(
    database: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kalshi_rl.trading.actor_reload")
    registry = ModelRegistry(database)
    models = tmp_path / "models"
    first = scripted_model(registry, models, "hot", Action.HOLD)
    async with trading(database, "hot") as actor:  # follows the latest ready version of "hot"
        await more_decisions(actor, 3)

        # The running version's checkpoint is deleted: refused at every poll, the model in
        # memory keeps trading (it could not be restarted: that is what the warning says).
        os.remove(first.checkpoint_path)
        await eventually(lambda: actor.metrics.reload_refusals >= 2, timeout_s=WAIT_S)
        assert f"model hot@1 has no checkpoint at {first.checkpoint_path}" in actor.metrics.last_reload_error

        # A new version is marked ready, but its checkpoint is gone.
        second = await asyncio.to_thread(scripted_model, registry, models, "hot", Action.BUY_YES, ready=False)
        os.remove(second.checkpoint_path)
        await asyncio.to_thread(registry.update, second.id, status="ready")
        refusals = actor.metrics.reload_refusals
        await eventually(
            lambda: (
                "hot@2" in actor.metrics.last_reload_error and actor.metrics.reload_refusals >= refusals + 2
            ),
            timeout_s=WAIT_S,
        )
        assert f"model hot@2 has no checkpoint at {second.checkpoint_path}" in actor.metrics.last_reload_error
        await more_decisions(actor, 3)
        assert actor.model is not None and actor.model.label == "hot@1" and actor.metrics.reloads == 0

        # Its checkpoint arrives: the actor takes it at the next tick.
        await asyncio.to_thread(write_scripted_checkpoint, registry, second, Action.BUY_YES)
        await eventually(lambda: actor.metrics.reloads == 1, timeout_s=WAIT_S)
        await more_decisions(actor, 3)
    assert actor.model is not None and actor.model.label == "hot@2"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for version, model in (("hot@1", first), ("hot@2", second)):
        said = [w for w in warnings if f"model {version} has no checkpoint at {model.checkpoint_path}" in w]
        assert len(said) == 1, warnings  # logged once, though refused at every poll
    log = action_log(database)
    check_every_grid_tick_decided(actor, log)
    before, after = split_at_switch(actor, log)
    assert {(row["action_details"]["model"], row["action"]) for row in before} == {("hot@1", Action.HOLD)}
    assert {(row["action_details"]["model"], row["action"]) for row in after} == {("hot@2", Action.BUY_YES)}
    check_episode(database, actor, first)


def _version(registry: ModelRegistry, ref: str) -> ModelRecord | None:
    try:
        return registry.get(ref)
    except KalshiRLError:
        return None


@pytest.mark.slow
async def test_a_model_trained_while_the_actor_trades_takes_over_once_ready_and_no_tick_is_missed(
    sim_lake: tuple[Path, list[str]], database: Engine, tmp_path: Path
) -> None:
    registry = ModelRegistry(database)
    models = tmp_path / "models"
    data = await asyncio.to_thread(lake_data, sim_lake)
    first = await asyncio.to_thread(train_tiny, registry, models, data, "hot")
    unready_checkpoints = 0
    async with trading(database, "hot", deterministic=False) as actor:  # sampled: it trades
        await more_decisions(actor, 3)
        # Fine-tune hot@1 in a worker thread, as the service does, checkpointing every rollout;
        # long enough (~30 rollouts) for the actor to decide several ticks meanwhile.
        started_ns = time.time_ns()
        training = asyncio.create_task(
            asyncio.to_thread(
                train_tiny, registry, models, data, "hot", timesteps=960, parent="hot@1", checkpoint_every=32
            )
        )
        while not training.done():
            row = await asyncio.to_thread(_version, registry, "hot@2")
            if row is not None and row.status == "training" and Path(row.checkpoint_path).is_file():
                unready_checkpoints += 1  # a checkpoint of a version still training ...
                assert actor.model is not None and actor.model.label == "hot@1"  # ... is not taken
            await asyncio.sleep(0.02)
        second = await training
        finished_ns = time.time_ns()
        await eventually(lambda: actor.metrics.reloads == 1, timeout_s=WAIT_S)
        await more_decisions(actor, 3)
    assert second.status == "ready" and second.label == "hot@2" and unready_checkpoints > 0
    ((label, switch_ns),) = actor.metrics.switches or []
    assert second.updated_at is not None
    ready_ns = int(second.updated_at.timestamp() * 1e9)  # when it was marked ready
    assert label == "hot@2" and switch_ns > ready_ns
    log = action_log(database)
    check_every_grid_tick_decided(actor, log)
    during = [row for row in log if started_ns <= row["timestamp"] * 1_000_000 <= finished_ns]
    assert len(during) >= 2 and {row["action_details"]["model"] for row in during} == {"hot@1"}
    before, after = split_at_switch(actor, log)
    assert {row["action_details"]["model"] for row in before} == {"hot@1"}
    assert {row["action_details"]["model"] for row in after} == {"hot@2"}
    assert actor.metrics.orders > 0
    check_episode(database, actor, first)
