"""``EnvConfig`` and the train/serve contract a checkpoint is bound to.

Kept apart from the Gymnasium env so the inference-only actor can check a checkpoint's
contract without importing any training code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kalshi_rl.environments.action_mask import mask_contract
from kalshi_rl.environments.action_space import ACTION_NAMES, ActionConfig
from kalshi_rl.environments.observation_space import OBSERVATION_SPEC, ObservationSpec
from kalshi_rl.environments.reward import RewardConfig
from kalshi_rl.execution.fill_engine import FillConfig


@dataclass(frozen=True)
class ObservationNormalization:
    """Observations standardised by running statistics (SB3's ``VecNormalize``), then clipped.

    The statistics change with every checkpoint, so they are not in the contract: they are
    stored beside the checkpoint (``policy.npz``, fingerprinted in ``contract.json``); the
    contract fixes how they are applied: ``clip((obs - mean) / sqrt(var + epsilon), ±clip_obs)``.
    """

    clip_obs: float = 10.0
    epsilon: float = 1e-8

    def __post_init__(self) -> None:
        if not (self.clip_obs > 0 and self.epsilon > 0):
            raise ValueError("clip_obs and epsilon must be positive")

    def to_dict(self) -> dict[str, object]:
        return {"method": "vecnormalize", "clip_obs": self.clip_obs, "epsilon": self.epsilon}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObservationNormalization:
        if data.get("method") != "vecnormalize":
            raise ValueError(f"unknown observation normalisation {data.get('method')!r}")
        return cls(float(data["clip_obs"]), float(data["epsilon"]))


@dataclass(frozen=True)
class EnvConfig:
    """Everything that shapes the env; ``contract()`` is what a checkpoint is bound to."""

    tick_ms: int = 1_000
    episode_ticks: int = 300
    min_episode_ticks: int = 30
    actions: ActionConfig = field(default_factory=ActionConfig)
    fill: FillConfig = field(default_factory=FillConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    spec: ObservationSpec = OBSERVATION_SPEC
    series: str | None = None
    """The series the model is for (trained on its markets, traded on any of them, rolling from
    one to the next); None: a model of the markets it was trained on. It shapes nothing in the
    env: every market of a series is observed alike (time to close from that market's close)."""
    masked: bool = False
    """The policy chooses among the actions that ``action_masks`` allows (MaskablePPO): the
    actor must apply the same mask. The env offers ``action_masks()`` either way."""
    normalization: ObservationNormalization | None = None
    """The policy's inputs are normalised observations (see ``ObservationNormalization``)."""

    def __post_init__(self) -> None:
        if self.tick_ms <= 0 or self.episode_ticks < 1 or self.min_episode_ticks < 1:
            raise ValueError("tick_ms, episode_ticks and min_episode_ticks must be positive")
        if self.fill.latency_max_ms >= self.tick_ms:
            raise ValueError("the fill latency must be shorter than a tick")
        if self.series is not None and not self.series.strip():
            raise ValueError("a series ticker must not be empty")

    def contract(self) -> dict[str, object]:
        """The train/serve contract: what the actor must reproduce exactly (JSON-normal form).

        ``fill`` includes the fee policy (``fill.fees``: each market's own schedule or a fixed
        one, the per-contract fee of flat-fee markets, the member's balance precision and the
        rounding rule), so a model is never served under fees other than those it learnt with.
        ``series`` is there only for a series model, so the contracts of market models (and of
        every checkpoint written before series existed) are unchanged; a hot reload therefore
        never swaps a series model for a market model, or for another series' model. Likewise
        ``action_mask`` (the mask's rules) and ``observation_normalization`` are there only for
        models that need them.
        """
        contract = {
            "observation_spec": self.spec.to_dict(),
            "observation_fingerprint": self.spec.fingerprint(),
            "action_map": {str(k): v for k, v in ACTION_NAMES.items()},
            "actions": self.actions.to_dict(),
            "fill": self.fill.to_dict(),
            "tick_ms": self.tick_ms,
        }
        if self.series is not None:
            contract["series"] = self.series
        if self.masked:
            contract["action_mask"] = mask_contract()
        if self.normalization is not None:
            contract["observation_normalization"] = self.normalization.to_dict()
        return json.loads(json.dumps(contract))  # the form it has after a trip through JSON


def env_config_from_contract(contract: dict[str, Any], **overrides: Any) -> EnvConfig:
    """Rebuild the env a checkpoint was trained in (for evaluation), from its contract."""
    actions = contract["actions"]
    normalization = contract.get("observation_normalization")
    config = EnvConfig(
        tick_ms=int(contract["tick_ms"]),
        actions=ActionConfig(int(actions["order_units"]), int(actions["position_limit_units"])),
        fill=FillConfig.from_dict(contract["fill"]),
        spec=ObservationSpec.from_dict(contract["observation_spec"]),
        series=contract.get("series"),
        masked="action_mask" in contract,
        normalization=ObservationNormalization.from_dict(normalization) if normalization else None,
        **overrides,
    )
    if config.contract() != contract:
        raise ValueError("this version of kalshi-rl cannot reproduce the checkpoint's contract exactly")
    return config
