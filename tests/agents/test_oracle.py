"""The oracle's DP against a brute force over every action sequence through the real env.

Tiny random tapes (4-5 ticks, thin books of 0-3 levels a side so orders fill partially and walk
levels, a position limit that cuts buys, half the tapes settling): with taken liquidity restored
by the next tick the DP value is exactly the brute-force optimum and its plan, replayed in the
env, earns exactly that. With the env's default 5 s restore the oracle carries the liquidity its
path took: its value is what its plan earns in the env (achievable), never above the optimum and
equal to it on almost every tape; ignoring consumption there would overstate the optimum.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from kalshi_rl.agents.evaluation import run_policy
from kalshi_rl.agents.oracle import OraclePolicy, _strongest, assumption_holds, plan_tape
from kalshi_rl.core.events import Side
from kalshi_rl.environments.action_space import N_ACTIONS, Action, ActionConfig
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.kalshi_env import KalshiTradingEnv
from kalshi_rl.environments.tape import EXEC_DEPTH, Tape
from kalshi_rl.execution.fees import FeeModel
from kalshi_rl.execution.fill_engine import FillConfig, FillEngine

T0_NS = 1_800_000_000 * 1_000_000_000
# 10-contract orders, a 15-contract limit (the second buy is cut to 5), 1 s ticks, 50 ms latency.
EXACT = EnvConfig(
    tick_ms=1_000,
    min_episode_ticks=1,
    actions=ActionConfig(order_units=1_000, position_limit_units=1_500),
    fill=FillConfig(latency_min_ms=50.0, latency_max_ms=50.0, restore_ms=1_000.0),
)
CONSUMING = replace(EXACT, fill=replace(EXACT.fill, restore_ms=5_000.0))  # the env's default restore


def random_tape(rng: np.random.Generator, ticks: int) -> Tape:
    """A consistent book a tick: YES asks above the mid, NO asks above 1 - mid, 0-3 thin levels on
    a $0.05 grid that moves at half the ticks, so an order often meets a level it took before."""
    marks = np.empty(ticks)
    asks = {side: np.zeros((ticks, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    mid = int(rng.integers(4, 16)) * 500
    for k in range(ticks):
        if rng.random() < 0.5:
            mid = int(np.clip(mid + int(rng.integers(-2, 3)) * 500, 1_000, 9_000))
        marks[k] = np.nan if rng.random() < 0.1 else mid
        for side, centre in ((Side.YES, mid), (Side.NO, 10_000 - mid)):
            price = centre + 250
            for depth in range(int(rng.integers(0, 4))):
                if price >= 10_000:
                    break
                asks[side][k, depth] = (price, int(rng.choice([50, 300, 600, 1_000, 1_500])))
                price += 500
    settlement = int(rng.choice([0, 10_000])) if rng.random() < 0.5 else None
    features = np.zeros((ticks, len(EXACT.spec.book_features)), dtype=np.float32)
    tick_ns = T0_NS + np.arange(ticks, dtype=np.int64) * 1_000_000_000
    return Tape("KXTINY", 1, tick_ns, features, marks, asks, settlement, None)


def play(tape: Tape, config: EnvConfig, actions: tuple[int, ...]) -> float:
    env = KalshiTradingEnv([tape], config, sequential=True)
    env.reset(seed=0)
    for action in actions:
        _, _, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    return float(info["episode_summary"]["pnl"])


def brute_force(tape: Tape, config: EnvConfig) -> float:
    """The best P&L over all 5^K action sequences, each played through the real env."""
    return max(play(tape, config, seq) for seq in itertools.product(range(N_ACTIONS), repeat=len(tape)))


def replayed(tape: Tape, config: EnvConfig) -> float:
    plan = plan_tape(tape, config)
    return run_policy(OraclePolicy([plan]), [tape], config).total_pnl


TAPES = [random_tape(np.random.default_rng(seed), 4 if seed % 6 else 5) for seed in range(24)]


def test_exact_when_liquidity_is_restored_by_the_next_tick() -> None:
    assert assumption_holds(EXACT) and not assumption_holds(CONSUMING)
    for i, tape in enumerate(TAPES):
        restore_ms = 1_000.0 * (i % 2)  # forgotten at once, or exactly one tick later
        config = replace(EXACT, fill=replace(EXACT.fill, restore_ms=restore_ms))
        plan = plan_tape(tape, config)
        assert plan.exact and len(plan.actions) == len(tape)
        assert plan.pnl == pytest.approx(brute_force(tape, config), abs=1e-9)
        assert play(tape, config, plan.actions) == pytest.approx(plan.pnl, abs=1e-9)


def test_achievable_and_almost_always_optimal_when_taken_liquidity_stays_taken() -> None:
    found = overstated = 0
    total_oracle = total_best = 0.0
    for tape in TAPES:
        plan = plan_tape(tape, CONSUMING)
        best = brute_force(tape, CONSUMING)
        assert not plan.exact
        assert play(tape, CONSUMING, plan.actions) == pytest.approx(plan.pnl, abs=1e-9)  # achievable
        assert plan.pnl <= best + 1e-9
        found += plan.pnl >= best - 1e-9
        total_oracle, total_best = total_oracle + plan.pnl, total_best + best
        overstated += plan_tape(tape, CONSUMING, carry_consumption=False).pnl > best + 1e-9
    assert found >= len(TAPES) - 1 and total_oracle >= 0.99 * total_best
    assert overstated > 0, "no tape where consumed liquidity mattered: the carrying was not tested"


def test_consumed_liquidity_is_what_separates_the_dp_from_the_env() -> None:
    """One 10-contract YES ask at $0.50 on two ticks, settling YES: with liquidity back by the
    next tick the oracle buys it twice (15 contracts, the second order cut by the limit). In the
    env the level taken at the first tick is still 80 % hidden one second later, so the second
    order gets 2 of its 5 contracts: the oracle knows it, a DP ignoring it would not."""
    asks = {side: np.zeros((3, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    asks[Side.YES][0, 0] = asks[Side.YES][1, 0] = (5_000, 1_000)
    features = np.zeros((3, len(EXACT.spec.book_features)), dtype=np.float32)
    tape = Tape(
        "KXTWO", 1, T0_NS + np.arange(3, dtype=np.int64) * 1_000_000_000, features,
        np.full(3, 5_000.0), asks, 10_000, None,
    )  # fmt: skip
    buy_twice = (int(Action.BUY_YES), int(Action.BUY_YES), int(Action.HOLD))
    exact = plan_tape(tape, EXACT)
    assert exact.actions == buy_twice and exact.pnl == pytest.approx(brute_force(tape, EXACT))
    # 10 + 5 contracts at $0.50: $7.50 and $0.27 of fees (0.18 + 0.09 to the cent), $15 back.
    assert exact.pnl == pytest.approx(15 - 7.5 - 0.27)
    consuming = plan_tape(tape, CONSUMING)
    assert consuming.pnl == pytest.approx(brute_force(tape, CONSUMING)) == play(tape, CONSUMING, buy_twice)
    # 10 + 2 contracts: $6.00, fees 0.18 + 0.04, $12 back.
    assert consuming.pnl == pytest.approx(12 - 6 - 0.22)
    ignoring = plan_tape(tape, CONSUMING, carry_consumption=False)
    assert ignoring.pnl == exact.pnl > consuming.pnl + 1.0


def test_no_profitable_trade_means_an_all_hold_plan_worth_zero() -> None:
    """A flat mid inside a wide spread, no settlement: every round trip loses the spread."""
    asks = {side: np.zeros((4, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    asks[Side.YES][:, 0] = (5_500, 10_000)
    asks[Side.NO][:, 0] = (5_500, 10_000)
    features = np.zeros((4, len(EXACT.spec.book_features)), dtype=np.float32)
    tape = Tape(
        "KXFLAT", 1, T0_NS + np.arange(4, dtype=np.int64) * 1_000_000_000, features,
        np.full(4, 5_000.0), asks, None, None,
    )  # fmt: skip
    plan = plan_tape(tape, EXACT)
    assert plan.pnl == 0.0 == brute_force(tape, EXACT)
    assert plan.actions == (int(Action.HOLD),) * 4
    assert replayed(tape, EXACT) == 0.0


def test_the_state_cap_keeps_plans_achievable_and_near_the_uncapped_dp() -> None:
    """Longer tapes (16 ticks) with liquidity carried: the capped DP's plan replays in the env to
    its value and reaches the uncapped DP's."""
    capped_total = uncapped_total = 0.0
    for seed in range(4):
        tape = random_tape(np.random.default_rng(100 + seed), 16)
        capped = plan_tape(tape, CONSUMING, max_states=16)
        uncapped = plan_tape(tape, CONSUMING, max_states=1_000_000)
        assert play(tape, CONSUMING, capped.actions) == pytest.approx(capped.pnl, abs=1e-9)
        capped_total, uncapped_total = capped_total + capped.pnl, uncapped_total + uncapped.pnl
    assert capped_total >= 0.97 * uncapped_total


def test_the_cap_keeps_the_positions_worth_most_in_each_one_contract_bucket() -> None:
    tape = random_tape(np.random.default_rng(0), 4)
    settled = replace(tape, settlement_ticks=10_000)  # YES pays $1: every YES unit is worth 100 ticks
    # Bucket 0 (0..99 units): 10, 50, 90; bucket 1 (100..199): 120, 150. Equal cash.
    cash = dict.fromkeys((10, 50, 90, 120, 150), -1000000)
    how = dict.fromkeys(cash, (0, 0))
    kept, kept_how = _strongest(cash, how, settled, 5_000.0, EXACT.fill.fees.member_precision_micro, 2)
    assert sorted(kept) == [90, 150] and set(kept_how) == set(kept)  # the most YES in each bucket


def test_a_forked_fill_engine_is_independent_and_prices_alike() -> None:
    engine = FillEngine(CONSUMING.fill, seed=0)
    asks = [(5_000, 1_000)]
    model = FeeModel()
    engine.buy(Side.YES, 600, asks, T0_NS, fees=model)
    fork = engine.fork()
    assert fork.available(Side.YES, asks, T0_NS + 1) == engine.available(Side.YES, asks, T0_NS + 1)
    fork.buy(Side.YES, 300, asks, T0_NS + 1, fees=model)
    assert engine.available(Side.YES, asks, T0_NS + 1) != fork.available(Side.YES, asks, T0_NS + 1)
    assert fork.latency_ns() == engine.latency_ns()
