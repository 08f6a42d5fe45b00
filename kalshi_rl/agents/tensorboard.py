"""TensorBoard for a training run: SB3's own scalars plus what trading needs to see.

``train --tensorboard DIR`` writes one run folder per model version (``DIR/<name>_v<version>``)
with SB3's scalars (``rollout/ep_rew_mean``, ``train/loss``, ``time/fps``, ...) and, from
``TradingMetricsCallback``:

- ``episode/pnl``, ``episode/fees``, ``episode/turnover`` (contracts traded) and
  ``episode/trades`` (orders that filled): means over the episodes finished since the last
  write, in dollars and contracts whatever the reward shaping;
- ``actions/<name>``: the share of steps on which each action was chosen, and
  ``actions/no_op``: the share on which a trading action could do nothing (a sell without a
  position, a buy at the limit) -- a policy collapsing onto one action, or onto a free no-op,
  shows here while it happens.

The action shares cover the steps since SB3 last wrote its scalars (every rollout for PPO and
A2C; every ``log_interval`` episodes for DQN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, configure

from kalshi_rl.environments.action_space import ACTION_NAMES, N_ACTIONS

_FIRST_KEY = f"actions/{ACTION_NAMES[0]}"


def tensorboard_logger(root: Path, run: str) -> Logger:
    """An SB3 logger writing TensorBoard events into ``root/run`` (created)."""
    folder = root / run
    folder.mkdir(parents=True, exist_ok=True)
    return configure(str(folder), ["tensorboard"])


class TradingMetricsCallback(BaseCallback):
    """Records episode P&L, fees, turnover, trades and action frequencies; see the module."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = np.zeros(N_ACTIONS + 1, dtype=np.int64)  # counts since the last rollout end
        self._window = np.zeros(N_ACTIONS + 1, dtype=np.int64)  # counts since the last write

    def _on_step(self) -> bool:
        actions = np.asarray(self.locals["actions"]).reshape(-1).astype(np.int64)
        self._pending[:N_ACTIONS] += np.bincount(actions, minlength=N_ACTIONS)[:N_ACTIONS]
        record = self.logger.record_mean
        for action, info in zip(actions.tolist(), self.locals.get("infos", ()), strict=False):
            if action and "fill" not in info:  # a trading action that placed no order
                self._pending[N_ACTIONS] += 1
            summary = info.get("episode_summary")
            if summary is not None:
                record("episode/pnl", float(summary["pnl"]))
                record("episode/fees", float(summary["fees"]))
                record("episode/turnover", float(summary["contracts_traded"]))
                record("episode/trades", float(summary.get("trades", 0)))
        return True

    def _on_rollout_end(self) -> None:
        # SB3 clears its values when it writes them: our key gone means a new window begins.
        if _FIRST_KEY not in self.logger.name_to_value:
            self._window[:] = 0
        self._window += self._pending
        self._pending[:] = 0
        steps = int(self._window[:N_ACTIONS].sum())
        if steps == 0:
            return
        for action, name in ACTION_NAMES.items():
            self.logger.record(f"actions/{name}", self._window[action] / steps)
        self.logger.record("actions/no_op", self._window[N_ACTIONS] / steps)
