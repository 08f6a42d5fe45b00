"""``KalshiTradingEnv``: a Gymnasium env that replays recorded Kalshi books (spec §4.3).

All data is preloaded at construction (``ReplayData`` -> one ``Tape`` per segment); ``reset``
and ``step`` touch no database, file or network. An episode is a stretch of one tape: one
market, one gap-free segment, never stitched across a gap or a market boundary. Each step is
one tick of event time: the agent sees the book at ``t`` (the shared observation builder),
its order executes ``latency`` later through the shared ``FillEngine`` (walking the book,
consuming liquidity, each level one match paying Kalshi's taker fee under the schedule in force
for that market at that time), the order's balance changes are rounded the way Kalshi rounds
them (``OrderFeeAccumulator``, at the fee policy's member precision), and the reward is the
change in equity marked at the mid. An episode ends at its tape's end (terminated; positions settle at 0 or 1
if the market closed and its result is known, else stay marked to market) or after
``episode_ticks`` (truncated). ``action_masks()`` says which actions can act on the last
observation (sb3-contrib's MaskablePPO asks for it; see ``action_mask``).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from kalshi_rl.core.errors import DataNotFoundError
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.action_mask import action_masks
from kalshi_rl.environments.action_space import N_ACTIONS, decode_action
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.environments.fee_timeline import FeeTimeline
from kalshi_rl.environments.observation_space import (
    OBSERVATION_BOUND,
    BookFeatures,
    PositionState,
    build_observation_from_orderbook,
)
from kalshi_rl.environments.reward import step_reward
from kalshi_rl.environments.tape import Tape, record_tape
from kalshi_rl.execution.fee_rounding import OrderFeeAccumulator
from kalshi_rl.execution.fill_engine import FillEngine
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger


def build_tapes(data: ReplayData, config: EnvConfig) -> list[Tape]:
    """Replay every segment of ``data`` once into tapes (done once, shared by envs)."""
    tick_ns = config.tick_ms * 1_000_000
    latency_ns = int(config.fill.latency_max_ms * 1_000_000)
    tapes = []
    for segment in data.segments:
        tape = record_tape(
            segment, data.meta[segment.market_ticker], tick_ns, latency_ns, data.start_ns, config.spec
        )
        if tape is not None and len(tape) >= config.min_episode_ticks:
            tapes.append(tape)
    if not tapes:
        raise DataNotFoundError(
            f"the window holds no gap-free stretch of at least {config.min_episode_ticks} ticks "
            f"of {config.tick_ms} ms ({len(data.segments)} segment(s) found)"
        )
    return tapes


class KalshiTradingEnv(gym.Env[np.ndarray, np.int64]):
    """Historical replay of Kalshi books; see the module docstring."""

    metadata = {"render_modes": []}  # noqa: RUF012 - Gymnasium's convention

    def __init__(self, tapes: list[Tape], config: EnvConfig | None = None, sequential: bool = False) -> None:
        super().__init__()
        if not tapes:
            raise DataNotFoundError("KalshiTradingEnv needs at least one tape")
        self.config = config or EnvConfig()
        self.tapes = tapes
        self.sequential = sequential  # evaluation: walk every tape from its start, in order
        bound = OBSERVATION_BOUND
        self.observation_space = spaces.Box(-bound, bound, shape=(self.config.spec.size,), dtype=np.float32)
        self.action_space = spaces.Discrete(N_ACTIONS)
        self.fills = FillEngine(self.config.fill, seed=0)
        policy = self.config.fill.fees
        # Resolved once: a market whose fee cannot be computed is refused here, not mid-episode.
        self._fee_timelines = [FeeTimeline(tape.fees, policy, tape.market_ticker) for tape in tapes]
        self._fees = self._fee_timelines[0]
        self._precision_micro = policy.member_precision_micro
        self._latency_ns = int(self.config.fill.latency_max_ms * 1_000_000)
        self._tape = tapes[0]
        self._next_tape = 0
        self._k = self._end = self._start = 0
        self._ledger = PositionLedger()
        self._mark = 5_000.0
        self._equity = 0.0
        self._episode_reward = 0.0
        self._steps = 0
        self._trades = 0
        self._last_observation = np.zeros(self.config.spec.size, dtype=np.float32)

    # -- gymnasium API ------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.fills.reset(seed=int(self.np_random.integers(2**31)) if seed is not None else None)
        if self.sequential:
            index = self._next_tape % len(self.tapes)
            self._next_tape += 1
        else:
            index = int(self.np_random.integers(len(self.tapes)))
        self._tape, self._fees = self.tapes[index], self._fee_timelines[index]
        length = len(self._tape)
        span = length if self.sequential else min(self.config.episode_ticks, length)
        start = 0 if self.sequential else int(self.np_random.integers(0, length - span + 1))
        end = start + span
        self._k, self._end, self._start = start, end, start
        self._ledger = PositionLedger()
        self._mark = self._mark_at(start, 5_000.0)
        self._equity = 0.0
        self._episode_reward = 0.0
        self._steps = 0
        self._trades = 0
        self._last_observation = self._observation()
        return self._last_observation, {
            "market_ticker": self._tape.market_ticker,
            "tick_ns": int(self._tape.tick_ns[start]),
        }

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        tape, k = self._tape, self._k
        ledger = self._ledger
        info: dict[str, Any] = {}
        intent = decode_action(int(action), ledger.position_units, self.config.actions)
        if intent is not None:
            exec_ns = int(tape.tick_ns[k]) + self._latency_ns
            side, asks = intent.side, tape.ask_levels(intent.side, k)
            fill = self.fills.buy(side, intent.count_units, asks, exec_ns, fees=self._fees.at(exec_ns))
            rounding = OrderFeeAccumulator(self._precision_micro)  # one order: this step's
            paid = 0
            for price, units, trade_fee in fill.levels:
                fee = rounding.charge(ledger.revenue_micro(side, units, price), trade_fee)
                ledger.buy(side, units, price, fee.net_fee_micro)
                paid += fee.net_fee_micro
            self._trades += fill.filled_units > 0
            info["fill"] = {
                "side": side.value,
                "units": fill.filled_units,
                "vwap_ticks": fill.vwap_ticks,
                "trade_fee_micro": fill.fee_micro,
                "fee_micro": paid,  # trade fees + rounding fees - rebates: what the balance paid
            }
        self._k = k + 1
        self._steps += 1
        terminated = self._k >= len(tape)
        truncated = not terminated and self._k >= self._end
        last = min(self._k, len(tape) - 1)
        self._mark = self._mark_at(last, self._mark)
        if terminated and tape.settlement_ticks is not None:
            ledger.settle(tape.settlement_ticks, self._precision_micro)
            info["settled_at_ticks"] = tape.settlement_ticks
        equity = ledger.equity_micro(self._mark)
        reward = step_reward(self._equity, equity, ledger.position_units, self.config.reward)
        self._equity = equity
        self._episode_reward += reward
        if terminated or truncated:
            info["episode_summary"] = self.summary()
        self._last_observation = self._observation(last)
        return self._last_observation, float(reward), terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Which actions can act on the last observation (``True``), as MaskablePPO expects."""
        return action_masks(self._last_observation, self.config.spec)

    # -- helpers ------------------------------------------------------------------------------

    def _mark_at(self, k: int, fallback: float) -> float:
        mark = float(self._tape.marks[k])
        return fallback if math.isnan(mark) else mark

    def _observation(self, k: int | None = None) -> np.ndarray:
        k = self._k if k is None else k
        ledger = self._ledger
        book = BookFeatures(self._tape.features[k], self._mark)
        position = PositionState(
            ledger.position_units, ledger.average_cost_ticks(), self.config.actions.position_limit_units
        )
        return build_observation_from_orderbook(book, position, spec=self.config.spec)

    def summary(self) -> dict[str, Any]:
        ledger = self._ledger
        return {
            "market_ticker": self._tape.market_ticker,
            "segment": self._tape.segment,
            "start_ns": int(self._tape.tick_ns[self._start]),
            "end_ns": int(self._tape.tick_ns[min(self._k, len(self._tape) - 1)]),
            "steps": self._steps,
            "pnl": self._equity / MICRO_PER_DOLLAR,
            "reward": self._episode_reward,
            "fees": ledger.fees_micro / MICRO_PER_DOLLAR,
            "position_units": ledger.position_units,
            "contracts_traded": ledger.contracts_traded_units / 100,
            "trades": self._trades,
            "settled": ledger.position_units == 0
            and self._tape.settlement_ticks is not None
            and self._k >= len(self._tape),
        }

    @property
    def ledger(self) -> PositionLedger:
        return self._ledger
