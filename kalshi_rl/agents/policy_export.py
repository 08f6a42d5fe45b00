"""Export what the paper actor needs from a trained SB3 model as ``policy.npz`` arrays.

The actor half of the network (``inference_weights.arrays_from_state_dict``), the observation
normaliser's running statistics when there is one (read by the actor with ``training=False``
semantics: frozen), and DQN's exploration rate (its ``predict(deterministic=False)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kalshi_rl.agents.inference_weights import arrays_from_state_dict


def policy_arrays(model: Any, activation: str, normalizer: Any | None = None) -> dict[str, np.ndarray]:
    """``model``: an SB3 / sb3-contrib algorithm; ``normalizer``: its ``VecNormalize`` or None."""
    state = {key: value.detach().cpu().numpy() for key, value in model.policy.state_dict().items()}
    arrays = arrays_from_state_dict(state, activation)
    if normalizer is not None and normalizer.norm_obs:
        arrays["normalizer.mean"] = np.asarray(normalizer.obs_rms.mean, np.float64)
        arrays["normalizer.var"] = np.asarray(normalizer.obs_rms.var, np.float64)
        arrays["normalizer.count"] = np.asarray(normalizer.obs_rms.count, np.float64)
    if hasattr(model, "exploration_rate"):
        arrays["exploration_rate"] = np.asarray(float(model.exploration_rate))
    return arrays
