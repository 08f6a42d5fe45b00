"""Inference-only policies: a trained checkpoint's actor network, run with numpy.

The paper-trading actor must never import training code (an import contract enforces it:
no SB3, no env, no trainer). SB3 checkpoints are zip files whose ``policy.pth`` holds the
policy's state dict; this module reads the actor half of an ``MlpPolicy`` (the
``mlp_extractor.policy_net`` layers and the ``action_net`` head) and evaluates it in numpy:
deterministic action = argmax of the logits, exactly what ``predict(deterministic=True)`` does.
A forward pass costs a few microseconds (SB3's ``predict`` costs ~160 µs).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kalshi_rl.core.errors import ConfigError

_HIDDEN = re.compile(r"mlp_extractor\.policy_net\.(\d+)\.weight")


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"tanh": _tanh, "relu": _relu}


@dataclass(frozen=True)
class InferencePolicy:
    """Hidden layers (weight transposed, bias) and the action head of a trained policy."""

    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]
    head: tuple[np.ndarray, np.ndarray]
    activation: str
    n_inputs: int

    def logits(self, observation: np.ndarray) -> np.ndarray:
        x = np.asarray(observation, dtype=np.float32)
        act = ACTIVATIONS[self.activation]
        for weight_t, bias in self.hidden:
            x = act(x @ weight_t + bias)
        weight_t, bias = self.head
        return x @ weight_t + bias

    def sample(self, observation: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
        """An action drawn from the policy's distribution (SB3's ``deterministic=False``)."""
        # A handful of actions: plain floats beat five more numpy calls on the decision path.
        logits = self.logits(observation).tolist()
        top = max(logits)
        weights = [math.exp(value - top) for value in logits]
        total = math.fsum(weights)
        target = rng.random() * total
        cumulative = 0.0
        for action, weight in enumerate(weights):
            cumulative += weight
            if target < cumulative:
                return action, weight / total
        return len(weights) - 1, weights[-1] / total

    def act(self, observation: np.ndarray) -> tuple[int, float]:
        """The deterministic action (the first of equal maxima, as ``argmax``) and its probability."""
        logits = self.logits(observation).tolist()
        best = max(range(len(logits)), key=logits.__getitem__)
        top = logits[best]
        return best, 1.0 / math.fsum(math.exp(value - top) for value in logits)


def load_policy(checkpoint: Path, activation: str = "tanh") -> InferencePolicy:
    """Read the actor network of an SB3 ``MlpPolicy`` checkpoint (PPO or A2C)."""
    if activation not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {activation!r} (expected {', '.join(ACTIVATIONS)})")
    import torch  # only to deserialise the tensors; inference itself is numpy

    try:
        with zipfile.ZipFile(checkpoint) as archive, archive.open("policy.pth") as handle:
            state = torch.load(io.BytesIO(handle.read()), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"checkpoint not found: {checkpoint}") from None
    except (zipfile.BadZipFile, KeyError, RuntimeError, EOFError) as exc:
        raise ConfigError(
            f"{checkpoint} is not a readable SB3 checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    indices = sorted(int(m.group(1)) for key in state if (m := _HIDDEN.fullmatch(key)))
    try:
        hidden = tuple(
            (
                state[f"mlp_extractor.policy_net.{i}.weight"].numpy().astype(np.float32).T.copy(),
                state[f"mlp_extractor.policy_net.{i}.bias"].numpy().astype(np.float32),
            )
            for i in indices
        )
        head = (
            state["action_net.weight"].numpy().astype(np.float32).T.copy(),
            state["action_net.bias"].numpy().astype(np.float32),
        )
    except KeyError as exc:
        raise ConfigError(f"{checkpoint} does not hold an MlpPolicy actor network (missing {exc})") from None
    n_inputs = hidden[0][0].shape[0] if hidden else head[0].shape[0]
    return InferencePolicy(hidden, head, activation, n_inputs)
