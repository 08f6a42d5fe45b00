"""The discrete action space (spec §4.3) and how each action becomes an order.

``Discrete(5)``: 0 hold, 1 buy YES, 2 sell YES, 3 buy NO, 4 sell NO, each for a configurable
size, as a taker. Kalshi nets YES against NO (a YES and a NO contract redeem for $1), so buying
YES while holding NO first closes NO. Sells are *reduce-only* (Kalshi's ``reduce_only``): they
sell at most what is held on that side and never open the other side, so "sell YES" and "buy
NO" stay different actions. A buy that would take the position past the limit is cut to the
limit. An action that can do nothing (selling what is not held, buying at the limit) is a hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from kalshi_rl.core.events import Side

N_ACTIONS = 5


class Action(IntEnum):
    HOLD = 0
    BUY_YES = 1
    SELL_YES = 2
    BUY_NO = 3
    SELL_NO = 4


ACTION_NAMES = {a.value: a.name.lower() for a in Action}
"""The action map of the train/serve contract: index -> name."""

KALSHI_ORDERS = {
    Action.BUY_YES: ("yes", "buy"),
    Action.SELL_YES: ("yes", "sell"),
    Action.BUY_NO: ("no", "buy"),
    Action.SELL_NO: ("no", "sell"),
}
"""The Kalshi (side, action) of each trading action (sells are reduce-only)."""


@dataclass(frozen=True)
class ActionConfig:
    """Order size and position limit, in units of 0.01 contract."""

    order_units: int = 1_000  # 10 contracts
    position_limit_units: int = 5_000  # 50 contracts either way

    def __post_init__(self) -> None:
        if self.order_units <= 0 or self.position_limit_units < self.order_units:
            raise ValueError("order size must be positive and not above the position limit")

    def to_dict(self) -> dict[str, object]:
        return {
            "order_units": self.order_units,
            "position_limit_units": self.position_limit_units,
            "actions": ACTION_NAMES,
            "sells": "reduce_only",
            "execution": "taker",
        }


@dataclass(frozen=True)
class OrderIntent:
    """Buy ``count_units`` of ``side`` as a taker (a sale of one side is a buy of the other)."""

    action: Action
    side: Side
    count_units: int


def decode_action(action: int, position_units: int, config: ActionConfig) -> OrderIntent | None:
    """Turn an action index into an order given the signed position, or None (hold)."""
    act = Action(int(action))
    if act is Action.HOLD:
        return None
    limit = config.position_limit_units
    if act is Action.BUY_YES:
        count = min(config.order_units, limit - position_units)
        side = Side.YES
    elif act is Action.BUY_NO:
        count = min(config.order_units, limit + position_units)
        side = Side.NO
    elif act is Action.SELL_YES:  # reduce-only: buy NO against the YES held
        count = min(config.order_units, max(0, position_units))
        side = Side.NO
    else:  # SELL_NO: buy YES against the NO held
        count = min(config.order_units, max(0, -position_units))
        side = Side.YES
    return OrderIntent(act, side, count) if count > 0 else None
