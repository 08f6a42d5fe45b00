"""TradingActor under a wall-clock step: ticks stamped with wall time, scheduled on the monotonic one.

A step back must not stall the actor for the size of the step; a step forward must not count
the skipped wall time as missed ticks. Either way the stamps follow the wall clock's grid.
"""

from __future__ import annotations

import itertools
import logging

import pytest

from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.trading.actor_config import SystemClock
from kalshi_rl.trading.tick_grid import STEP_NS, Tick, TickGrid
from tests.support.waiting import eventually
from tests.trading.test_actor import actor_on, live_book, register_model, trading

pytestmark = pytest.mark.slow


class SteppedClock(SystemClock):
    """The real clocks, except that the wall clock can be stepped (as NTP or an operator would)."""

    def __init__(self) -> None:
        self.step_ns = 0

    def time_ns(self) -> int:
        return super().time_ns() + self.step_ns


@pytest.fixture(scope="module")
def registry(sim_lake, tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:  # type: ignore[no-untyped-def]
    return register_model(sim_lake, tmp_path_factory.mktemp("actor-clock"), "tick")


@pytest.mark.parametrize("step_s", [3600, -10])
async def test_a_wall_clock_step_neither_stalls_the_actor_nor_counts_as_missed_ticks(
    registry: ModelRegistry, caplog: pytest.LogCaptureFixture, step_s: int
) -> None:
    caplog.set_level(logging.WARNING, logger="kalshi_rl.trading.tick_grid")
    clock = SteppedClock()
    actor = actor_on(live_book(), registry, clock=clock)
    step_ns = step_s * 10**9
    async with trading(actor) as ticks:
        await eventually(lambda: actor.metrics.decisions >= 3)
        clock.step_ns = step_ns
        await eventually(lambda: actor.metrics.decisions >= 8)
    assert actor.model is not None
    tick_ns = actor.model.env.tick_ms * 1_000_000
    stamps = [stamp for stamp, _ in ticks]
    reached = [mono for _, mono in ticks]  # when the actor got to each tick, on the real clock
    # Stamps: on the wall clock's grid, shifted by the step exactly once.
    assert all(stamp % tick_ns == 0 for stamp in stamps)
    offsets = [stamp - mono for stamp, mono in ticks]
    shifts = [i for i, (a, b) in enumerate(itertools.pairwise(offsets), 1) if abs(b - a) > tick_ns // 2]
    assert len(shifts) == 1
    at = shifts[0]
    # Missed ticks: exactly the grid ticks that really passed without a decision (none for the
    # step itself); and the tick after the step came on time, not after the step's length.
    passed_over = [round((b - a) / tick_ns) - 1 for a, b in itertools.pairwise(reached)]
    assert actor.metrics.missed_ticks == sum(passed_over)
    assert reached[at] - reached[at - 1] < abs(step_ns) / 2
    assert stamps[at] - stamps[at - 1] == step_ns + (passed_over[at - 1] + 1) * tick_ns
    # The step is seen and said, once.
    assert actor.metrics.clock_steps == 1
    said = [r.getMessage() for r in caplog.records if "stepped" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"wall clock stepped by {step_s:+.3f} s")


# -- the grid itself, on a hand-driven clock ----------------------------------------------------

TICK = 200_000_000


class HandClock:
    """Both clocks moved by hand: ``advance`` moves both, ``step`` only the wall clock."""

    def __init__(self) -> None:
        self.mono = 5 * 10**9 + 30_000_000  # 30 ms past a tick of the (wall) grid
        self.wall = 1_800_000_000 * 10**9 + 30_000_000

    def time_ns(self) -> int:
        return self.wall

    def monotonic_ns(self) -> int:
        return self.mono

    def advance(self, ns: int) -> None:
        self.mono += ns
        self.wall += ns

    def step(self, ns: int) -> None:
        self.wall += ns


def decide(grid: TickGrid, clock: HandClock, busy_ns: int = 1_000_000) -> Tick:
    """Wait for the grid's next tick, take it, spend ``busy_ns`` deciding."""
    clock.advance(max(0, grid.upcoming().due_ns - clock.mono))
    tick = grid.take()
    assert tick is not None
    clock.advance(busy_ns)
    return tick


def test_the_grid_counts_exactly_the_ticks_a_long_decision_passes_over() -> None:
    clock = HandClock()
    grid = TickGrid(clock, TICK)
    first = decide(grid, clock)
    assert first.wall_ns == clock.wall - 1_000_000 and first.wall_ns % TICK == 0 and first.missed == 0
    overrun = decide(grid, clock, busy_ns=7 * TICK // 2)  # 3.5 ticks
    assert overrun.wall_ns == first.wall_ns + TICK
    late = grid.take()  # decided at once, 0.5 tick late: the two ticks in between are missed
    assert late is not None and (late.wall_ns - overrun.wall_ns, late.missed) == (3 * TICK, 2)
    assert grid.take() is None  # the same tick is never decided twice
    assert decide(grid, clock) == Tick(late.wall_ns + TICK, late.due_ns + TICK, 0)


@pytest.mark.parametrize("step_s", [3600, -10])
def test_the_grid_follows_a_wall_clock_step_without_stalling_or_missing(step_s: int) -> None:
    clock = HandClock()
    grid = TickGrid(clock, TICK)
    before = decide(grid, clock)
    clock.step(step_s * 10**9)
    after = decide(grid, clock)
    assert after.due_ns - before.due_ns == TICK  # the next tick on the monotonic clock: no stall
    assert after.missed == 0  # the wall time skipped is not missed ticks
    assert after.wall_ns == before.wall_ns + TICK + step_s * 10**9  # stamped on the new wall grid
    assert grid.steps == 1
    assert decide(grid, clock).missed == 0 and grid.steps == 1  # said once


def test_the_grid_follows_small_drifts_silently_and_realigns_after_an_odd_step() -> None:
    clock = HandClock()
    grid = TickGrid(clock, TICK)
    decide(grid, clock)
    clock.step(STEP_NS - 1)  # NTP-sized: followed, not reported
    assert decide(grid, clock).missed == 0 and grid.steps == 0
    clock.step(-TICK // 4)  # a step off the grid: the next stamp is a grid tick again, nothing missed
    tick = decide(grid, clock)
    assert tick.wall_ns % TICK == 0 and tick.missed == 0 and grid.steps == 1
