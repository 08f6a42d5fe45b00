"""Evaluation metrics by value: a scripted policy on two hand-made tapes, every number worked out
by hand below (P&L, Sharpe, max drawdown, win rate, turnover, fees, trades)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from kalshi_rl.agents.evaluation import Metrics, evaluate, run_policy
from kalshi_rl.core.events import Side
from kalshi_rl.environments.action_space import Action
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.reward import RewardConfig
from kalshi_rl.environments.tape import EXEC_DEPTH, Tape
from kalshi_rl.execution.fill_engine import FillConfig

T0_NS = 1_800_000_000 * 1_000_000_000
# One-second ticks, so the Sharpe is scaled by sqrt(3600 ticks an hour) = 60; orders fill at the
# tick (latency 0); 10 contracts an order (the default action size). Fees: the default policy, a
# non-direct member ($0.01 balances) on Kalshi's general schedule (taker 0.07 x C x P x (1 - P)),
# each level one match whose trade fee is rounded up to $0.000001; an order's balance change per
# match, revenue - trade fee, is floored to the cent, the difference a rounding fee in the order's
# accumulator, rebated a cent at a time once it holds one (Kalshi's fee-rounding document).
CONFIG = EnvConfig(
    tick_ms=1_000, min_episode_ticks=1, fill=FillConfig(latency_min_ms=0.0, latency_max_ms=0.0)
)
HOLD, BUY_YES, SELL_YES = Action.HOLD, Action.BUY_YES, Action.SELL_YES


def hand_tape(
    ticker: str,
    marks: list[int],
    yes_asks: dict[int, list[tuple[int, int]]],
    no_asks: dict[int, list[tuple[int, int]]],
    settlement_ticks: int | None = None,
) -> Tape:
    """A tape given by its YES mids and, per tick, the asks an order meets (ticks, units)."""
    n = len(marks)
    asks = {side: np.zeros((n, EXEC_DEPTH, 2), dtype=np.int64) for side in Side}
    for side, by_tick in ((Side.YES, yes_asks), (Side.NO, no_asks)):
        for k, levels in by_tick.items():
            for depth, (price, units) in enumerate(levels):
                asks[side][k, depth] = (price, units)
    features = np.zeros((n, len(CONFIG.spec.book_features)), dtype=np.float32)
    ticks = T0_NS + np.arange(n, dtype=np.int64) * 1_000_000_000
    return Tape(ticker, 1, ticks, features, np.asarray(marks, dtype=np.float64), asks, settlement_ticks, None)


# Tape A, 3 ticks, mid $0.50 -> $0.55 -> $0.60, no settlement (marked at the last mid).
#   t0 buy YES: 6 @ $0.52 and 4 @ $0.53 (two levels: two matches of one order).
#      match 1: trade fee 0.07 x 6 x 0.52 x 0.48 = 0.104832; -3.12 - 0.104832 = -3.224832 -> -3.23:
#               rounding 0.005168 (accumulator 0.005168, no rebate), net fee 0.11;
#      match 2: trade fee 0.07 x 4 x 0.53 x 0.47 = 0.069748; -2.12 - 0.069748 = -2.189748 -> -2.19:
#               rounding 0.000252 (accumulator 0.00542, no rebate), net fee 0.07.
#      Cash -5.23 - 0.18 = -5.42; 10 YES at the next mid 0.55 = 5.50: equity 0.08.
#   t1 hold: 10 YES at 0.60 = 6.00: equity 0.58 (+0.50).
#   t2 sell YES = buy 10 NO @ $0.42 (YES bid 0.58); the 10 pairs redeem $10, so the revenue is
#      10 - 4.20 = +5.80; trade fee 0.07 x 10 x 0.42 x 0.58 = 0.17052; 5.80 - 0.17052 = 5.62948 ->
#      5.62: rounding 0.00948, net fee 0.18. Cash -5.42 + 5.62 = 0.20, flat: equity 0.20 (-0.38).
TAPE_A = hand_tape(
    "KXA",
    [5_000, 5_500, 6_000],
    yes_asks={0: [(5_200, 600), (5_300, 10_000)]},
    no_asks={2: [(4_200, 10_000)]},
)
# Tape B, 2 ticks, mid $0.40 -> $0.30, the market settles NO at its end.
#   t0 buy YES: 10 @ $0.42, trade fee 0.17052; -4.20 - 0.17052 = -4.37052 -> -4.38 (rounding
#      0.00948, net fee 0.18): cash -4.38; 10 YES at 0.30: equity -1.38.
#   t1 hold; the tape ends and settles at 0: the YES pay nothing: equity -4.38 (-3.00).
TAPE_B = hand_tape("KXB", [4_000, 3_000], yes_asks={0: [(4_200, 10_000)]}, no_asks={}, settlement_ticks=0)
SCRIPT = [[BUY_YES, HOLD, SELL_YES], [BUY_YES, HOLD]]

STEP_PNL = [0.08, 0.5, -0.38, -1.38, -3.0]
# Sharpe: per-tick mean / population standard deviation x 60.
#   mean = -4.18 / 5 = -0.836
#   squared deviations: 0.839056, 1.784896, 0.207936, 0.295936, 4.682896 (sum 7.81072)
#   std = sqrt(7.81072 / 5) = sqrt(1.562144) = 1.24985759;  -0.836 / 1.24985759 x 60 = -40.1326
_MEAN = sum(STEP_PNL) / 5
SHARPE = round(_MEAN / math.sqrt(sum((p - _MEAN) ** 2 for p in STEP_PNL) / 5) * 60, 4)
EXPECTED = Metrics(
    policy="script",
    total_pnl=-4.18,  # 0.20 (A) - 4.38 (B)
    sharpe=-40.1326,
    # Cumulative P&L 0.08, 0.58, 0.20, -1.18, -4.18: from the 0.58 peak to -4.18.
    max_drawdown=4.76,
    win_rate=0.5,  # A won, B lost
    turnover=30.0,  # 10 + 10 contracts in A, 10 in B
    fees=0.54,  # net fees 0.11 + 0.07 + 0.18 (A) + 0.18 (B)
    trades=3,  # three orders filled
    episodes=2,
    steps=5,
)


class Script:
    """Plays a fixed list of actions in each episode, whatever it observes."""

    name = "script"

    def __init__(self, episodes: list[list[Action]]) -> None:
        self.episodes = episodes
        self._episode = -1
        self._step = 0

    def reset(self) -> None:
        self._episode += 1
        self._step = 0

    def act(self, observation: np.ndarray) -> int:
        action = self.episodes[self._episode][self._step]
        self._step += 1
        return int(action)


def test_every_metric_of_a_scripted_policy_is_the_hand_computed_value() -> None:
    assert EXPECTED.sharpe == SHARPE  # the formula, evaluated, gives the figure written above
    assert run_policy(Script(SCRIPT), [TAPE_A, TAPE_B], CONFIG) == EXPECTED


def test_hold_scores_exactly_zero_next_to_the_policy() -> None:
    policy, hold, *_ = evaluate(Script(SCRIPT), [TAPE_A, TAPE_B], CONFIG)
    assert policy == EXPECTED
    assert hold == Metrics("hold", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 2, 5)


def test_metrics_are_money_whatever_reward_shaping_the_env_uses() -> None:
    """A policy trained with an inventory penalty and a reward scale is still measured in
    dollars: the penalty is not money, and the scale is not a currency."""
    shaped = replace(CONFIG, reward=RewardConfig(inventory_penalty=0.01, scale=10.0))
    assert run_policy(Script(SCRIPT), [TAPE_A, TAPE_B], shaped) == EXPECTED
