"""Rewards: the change in mark-to-market equity, net of fees (the default); shapings live here only.

Equity is cash plus the position marked at the YES mid; fees are already out of cash, so the
default reward is exactly the P&L the evaluation reports. Shaping options (all off by default):
``inventory_penalty`` subtracts a cost per contract held per step (discourages idle risk), and
``scale`` multiplies everything (PPO is insensitive to it; A2C less so).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kalshi_rl.core.units import COUNT_SCALE
from kalshi_rl.execution.position import MICRO_PER_DOLLAR


@dataclass(frozen=True)
class RewardConfig:
    mode: str = "equity_change"
    inventory_penalty: float = 0.0  # dollars per contract held per step
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.mode != "equity_change":
            raise ValueError(f"unknown reward mode {self.mode!r} (expected 'equity_change')")
        if self.inventory_penalty < 0 or self.scale <= 0:
            raise ValueError("inventory_penalty must be >= 0 and scale > 0")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def step_reward(
    equity_before_micro: float, equity_after_micro: float, position_units: int, config: RewardConfig
) -> float:
    """Reward of one step, in (scaled) dollars."""
    reward = (equity_after_micro - equity_before_micro) / MICRO_PER_DOLLAR
    if config.inventory_penalty:
        reward -= config.inventory_penalty * abs(position_units) / COUNT_SCALE
    return reward * config.scale
