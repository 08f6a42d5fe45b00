"""Inference-only policies: a trained checkpoint's actor network, run with numpy.

The paper-trading actor must never import training code (an import contract enforces it:
no SB3, no env, no trainer). ``load_policy`` reads a checkpoint's ``policy.npz`` (numpy only;
see ``inference_weights``) -- or, for checkpoints older than it, the SB3 zip's ``policy.pth`` --
and the train/serve contract in ``contract.json`` beside it, and returns an ``InferencePolicy``
that takes the raw observation and does what SB3's ``predict`` does with the wrapped env:

1. the action mask from the raw observation, if the model was trained masked (MaskablePPO's
   ``predict(obs, action_masks=...)``; ``environments.action_mask``);
2. the observation normalised with the checkpoint's frozen ``VecNormalize`` statistics;
3. the recurrent state stepped, for RecurrentPPO (the caller carries it: ``PolicyRunner``);
4. deterministic: the argmax of the (masked) logits -- or of the Q-values for DQN; sampled:
   a draw from the (masked) categorical distribution -- DQN: epsilon-greedy at its final
   exploration rate, as SB3's ``predict(deterministic=False)``.

A forward pass costs a few microseconds (SB3's ``predict`` costs ~160 µs).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kalshi_rl.agents.inference_nets import Lstm, LstmLayer, LstmState, Mlp, Normalizer
from kalshi_rl.agents.inference_weights import (
    KINDS,
    POLICY_FILE,
    arrays_from_state_dict,
    read_arrays,
    state_dict_from_zip,
    verify_file,
)
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.environments.action_mask import action_masks
from kalshi_rl.environments.observation_space import ObservationSpec

ARCHITECTURE_KINDS = {
    "PPO": "actor_critic",
    "A2C": "actor_critic",
    "MASKABLE_PPO": "actor_critic",
    "RECURRENT_PPO": "recurrent",
    "DQN": "q",
}
"""The architectures (registry names) the inference policy runs, and their network kind."""


@dataclass(frozen=True)
class Decision:
    action: int
    probability: float
    """Of ``action`` under the policy that chose it (1.0 for a deterministic DQN)."""
    state: LstmState | None
    """The recurrent state after this step (None for feed-forward policies)."""


@dataclass(frozen=True)
class InferencePolicy:
    """A trained policy's inference path; see the module docstring. Immutable: a recurrent
    policy's state is passed in and returned (``PolicyRunner`` keeps it)."""

    kind: str
    network: Mlp
    lstm: Lstm | None = None
    normalizer: Normalizer | None = None
    mask_spec: ObservationSpec | None = None
    """Set for a masked model: the spec its observations (and so its masks) are built with."""
    exploration_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown policy kind {self.kind!r}")
        if (self.kind == "recurrent") != (self.lstm is not None):
            raise ConfigError("a recurrent policy needs its LSTM, and only it has one")
        if self.kind == "q" and self.mask_spec is not None:
            raise ConfigError("DQN is not trained with action masks; a masked DQN cannot be served")
        inner = self.lstm.hidden_size if self.lstm is not None else self.n_inputs
        if self.network.n_inputs != inner:
            raise ConfigError(f"the network takes {self.network.n_inputs} inputs, its input gives {inner}")
        if self.normalizer is not None and self.normalizer.size != self.n_inputs:
            raise ConfigError(
                f"the normaliser has {self.normalizer.size} features, the network {self.n_inputs}"
            )

    @property
    def n_inputs(self) -> int:
        return self.lstm.n_inputs if self.lstm is not None else self.network.n_inputs

    @property
    def recurrent(self) -> bool:
        return self.lstm is not None

    def initial_state(self) -> LstmState | None:
        """The state at an episode's start (zeros: SB3 resets it so on ``episode_start``)."""
        return self.lstm.initial_state() if self.lstm is not None else None

    def outputs(
        self, observation: np.ndarray, state: LstmState | None = None
    ) -> tuple[list[float], list[bool] | None, LstmState | None]:
        """(logits or Q-values, the mask or None, the next state) for a raw observation."""
        x = np.asarray(observation, dtype=np.float32)
        mask = action_masks(x, self.mask_spec).tolist() if self.mask_spec is not None else None
        if self.normalizer is not None:
            x = self.normalizer(x)
        if self.lstm is not None:
            x, state = self.lstm(x, state if state is not None else self.lstm.initial_state())
        return self.network(x).tolist(), mask, state

    def decide(
        self, observation: np.ndarray, state: LstmState | None = None, rng: np.random.Generator | None = None
    ) -> Decision:
        """The action for ``observation`` (deterministic without ``rng``) and the next state."""
        values, mask, state = self.outputs(observation, state)
        allowed = [a for a in range(len(values)) if mask is None or mask[a]]
        # The first of equal maxima, as argmax.
        best = max(allowed, key=values.__getitem__)
        if self.kind == "q":
            return self._epsilon_greedy(best, len(values), rng, state)
        top = values[best]
        # A handful of actions: plain floats beat five more numpy calls on the decision path.
        weights = [math.exp(values[a] - top) for a in allowed]
        total = math.fsum(weights)
        if rng is None:
            return Decision(best, 1.0 / total, state)
        target = rng.random() * total
        cumulative = 0.0
        for action, weight in zip(allowed, weights, strict=True):
            cumulative += weight
            if target < cumulative:
                return Decision(action, weight / total, state)
        return Decision(allowed[-1], weights[-1] / total, state)

    def _epsilon_greedy(
        self, greedy: int, n: int, rng: np.random.Generator | None, state: LstmState | None
    ) -> Decision:
        if rng is None:
            return Decision(greedy, 1.0, state)
        eps = self.exploration_rate
        action = int(rng.integers(n)) if rng.random() < eps else greedy
        return Decision(action, (1.0 - eps + eps / n) if action == greedy else eps / n, state)

    def act(self, observation: np.ndarray) -> tuple[int, float]:
        """The deterministic action and its probability (feed-forward policies only)."""
        self._stateless()
        decision = self.decide(observation)
        return decision.action, decision.probability

    def sample(self, observation: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
        """An action drawn from the policy (SB3's ``deterministic=False``) and its probability."""
        self._stateless()
        decision = self.decide(observation, rng=rng)
        return decision.action, decision.probability

    def _stateless(self) -> None:
        if self.lstm is not None:
            raise ConfigError("a recurrent policy carries its state: run it through a PolicyRunner")


class PolicyRunner:
    """One stream of decisions (an actor's market, an evaluation's episodes) with its recurrent
    state: ``reset()`` at every episode start. Also a ``dummy_agent.Policy`` (``act``/``reset``)."""

    def __init__(self, policy: InferencePolicy, name: str = "model") -> None:
        self.policy = policy
        self.name = name
        self.state = policy.initial_state()

    def reset(self) -> None:
        self.state = self.policy.initial_state()

    def decide(self, observation: np.ndarray, rng: np.random.Generator | None = None) -> tuple[int, float]:
        """Decide (deterministic without ``rng``) and keep the new state."""
        decision = self.policy.decide(observation, self.state, rng)
        self.state = decision.state
        return decision.action, decision.probability

    def peek(self, observation: np.ndarray, rng: np.random.Generator | None = None) -> tuple[int, float]:
        """Decide without keeping the new state (the actor's warm-up passes)."""
        decision = self.policy.decide(observation, self.state, rng)
        return decision.action, decision.probability

    def act(self, observation: np.ndarray) -> int:
        return self.decide(observation)[0]


def policy_from_arrays(
    arrays: dict[str, np.ndarray],
    mask_spec: ObservationSpec | None = None,
    normalization: dict[str, Any] | None = None,
) -> InferencePolicy:
    """Build the policy from ``policy.npz`` arrays, its mask spec and normalisation settings."""
    try:
        kind, activation = str(arrays["kind"]), str(arrays["activation"])
        n_hidden = sum(1 for key in arrays if key.startswith("mlp.hidden.") and key.endswith(".weight"))
        hidden = tuple(
            (arrays[f"mlp.hidden.{i}.weight"].T.copy(), arrays[f"mlp.hidden.{i}.bias"])
            for i in range(n_hidden)
        )
        network = Mlp(hidden, (arrays["mlp.head.weight"].T.copy(), arrays["mlp.head.bias"]), activation)
        n_lstm = sum(1 for key in arrays if key.startswith("lstm.") and key.endswith(".weight_ih"))
        lstm = None
        if n_lstm:
            lstm = Lstm(
                tuple(
                    LstmLayer(
                        arrays[f"lstm.{i}.weight_ih"].T.copy(),
                        arrays[f"lstm.{i}.weight_hh"].T.copy(),
                        arrays[f"lstm.{i}.bias_ih"] + arrays[f"lstm.{i}.bias_hh"],
                    )
                    for i in range(n_lstm)
                )
            )
        normalizer = None
        if normalization is not None:
            if "normalizer.mean" not in arrays:
                raise ConfigError(
                    "the contract normalises observations but the policy file has no statistics"
                )
            normalizer = Normalizer(
                arrays["normalizer.mean"].astype(np.float64),
                arrays["normalizer.var"].astype(np.float64),
                float(normalization["epsilon"]),
                float(normalization["clip_obs"]),
            )
        elif "normalizer.mean" in arrays:
            raise ConfigError("the policy file has normaliser statistics its contract does not mention")
        exploration = float(arrays.get("exploration_rate", np.array(0.0)))
    except KeyError as exc:
        raise ConfigError(f"the policy file lacks {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"the policy file is inconsistent: {exc}") from None
    return InferencePolicy(kind, network, lstm, normalizer, mask_spec, exploration)


def read_sidecar(checkpoint: Path) -> dict[str, Any]:
    """``contract.json`` beside ``checkpoint`` ({} if there is none)."""
    path = checkpoint.parent / "contract.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a contract")
    return data


def load_policy(
    checkpoint: Path, activation: str | None = None, sidecar: dict[str, Any] | None = None
) -> InferencePolicy:
    """The inference policy of a checkpoint, as its contract says to run it.

    ``sidecar``: the checkpoint's ``contract.json`` (read from beside it if None). ``activation``
    is only for checkpoints that record none (default tanh, SB3's). A model whose contract
    lacks what serving it needs (a MaskablePPO without its mask, normalisation without its
    statistics, an architecture this module cannot run) is refused with a ``ConfigError``.
    """
    contract = read_sidecar(checkpoint) if sidecar is None else sidecar
    architecture = str(contract.get("architecture", "PPO")).upper()
    if architecture not in ARCHITECTURE_KINDS:
        raise ConfigError(
            f"the paper actor cannot run {architecture} models (it runs {', '.join(ARCHITECTURE_KINDS)})"
        )
    if architecture == "MASKABLE_PPO" and "action_mask" not in contract:
        raise ConfigError(f"{checkpoint}: a MASKABLE_PPO model whose contract has no action_mask")
    files = contract.get("files") or {}
    entry = files.get(POLICY_FILE)
    if entry is not None:
        zipped = files.get(checkpoint.name)
        if zipped is not None:  # the weights are served only beside the checkpoint they came from
            verify_file(checkpoint, str(zipped["sha256"]))
        arrays = read_arrays(checkpoint.parent / POLICY_FILE, str(entry["sha256"]))
    else:
        recorded = (contract.get("policy") or {}).get("activation")
        arrays = arrays_from_state_dict(state_dict_from_zip(checkpoint), activation or recorded or "tanh")
    if str(arrays["kind"]) != ARCHITECTURE_KINDS[architecture]:
        raise ConfigError(f"{checkpoint} holds a {arrays['kind']} network, not a {architecture} one")
    mask_spec = None
    if "action_mask" in contract:
        try:
            mask_spec = ObservationSpec.from_dict(contract["observation_spec"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{checkpoint}: a masked model needs its observation spec ({exc})") from None
    return policy_from_arrays(arrays, mask_spec, contract.get("observation_normalization"))
