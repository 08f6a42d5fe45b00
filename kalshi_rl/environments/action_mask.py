"""Action masks: which actions can do anything, read from the observation itself.

The env already enforces three rules (``decode_action``; the fill engine): sells are reduce-only
(selling YES with no YES held does nothing), a buy at the position limit does nothing, and a buy
into an empty ask fills nothing. A masked policy (MaskablePPO) is told so before it acts, instead
of learning it from rewards -- an unmasked agent can collapse onto such a free no-op.

The mask is a pure function of the observation and its spec: the book's presence flags
(``has_ask``: a YES ask exists, so YES can be bought; ``has_bid``: a YES bid exists, which is a
NO ask, so NO can be bought) and the signed position as a share of the limit. So the training
env, the vectorised training wrapper, evaluation and the paper actor compute it with this one
function from the one observation builder's output, and cannot disagree. It uses the book seen
at the decision (never the one the order meets ``latency`` later, which the actor cannot know).

``position`` is ``units / limit`` in float32: ``< 1`` exactly when ``units < limit`` for any
limit below 2**24 units (167,772 contracts).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kalshi_rl.environments.action_space import N_ACTIONS, Action
from kalshi_rl.environments.observation_space import ObservationSpec

MASK_VERSION = 1
MASK_FEATURES = ("has_ask", "has_bid", "position")
MASK_RULES = {
    Action.HOLD.name.lower(): "always",
    Action.BUY_YES.name.lower(): "has_ask and position < 1 (a YES ask, below the limit)",
    Action.SELL_YES.name.lower(): "has_bid and position > 0 (YES held; sold into the YES bid)",
    Action.BUY_NO.name.lower(): "has_bid and position > -1 (a NO ask, below the limit)",
    Action.SELL_NO.name.lower(): "has_ask and position < 0 (NO held; sold into the NO bid)",
}


@lru_cache(maxsize=8)
def _indices(spec: ObservationSpec) -> tuple[int, int, int]:
    names = spec.features
    missing = [name for name in MASK_FEATURES if name not in names]
    if missing:
        raise ValueError(f"observation spec {spec.name} v{spec.version} lacks {', '.join(missing)}")
    ask, bid, position = (names.index(name) for name in MASK_FEATURES)
    return ask, bid, position


def action_masks(observations: np.ndarray, spec: ObservationSpec) -> np.ndarray:
    """Boolean masks (``True``: the action can act) of shape ``observations.shape[:-1] + (5,)``.

    ``observations`` are raw (not normalised) observations built under ``spec``.
    """
    ask_index, bid_index, position_index = _indices(spec)
    has_ask = observations[..., ask_index] > 0.5
    has_bid = observations[..., bid_index] > 0.5
    position = observations[..., position_index]
    masks = np.empty((*observations.shape[:-1], N_ACTIONS), dtype=bool)
    masks[..., Action.HOLD] = True
    masks[..., Action.BUY_YES] = has_ask & (position < 1.0)
    masks[..., Action.SELL_YES] = has_bid & (position > 0.0)
    masks[..., Action.BUY_NO] = has_bid & (position > -1.0)
    masks[..., Action.SELL_NO] = has_ask & (position < 0.0)
    return masks


def mask_contract() -> dict[str, object]:
    """What the train/serve contract records of a masked model: the rules and their inputs."""
    return {"version": MASK_VERSION, "features": list(MASK_FEATURES), "rules": dict(MASK_RULES)}
