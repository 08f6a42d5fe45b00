"""The numpy building blocks of an inference-only policy: an MLP, an LSTM, a normaliser.

Each reproduces a PyTorch/SB3 computation in float32 (the normaliser in float64, as SB3's
``VecNormalize`` does), so a checkpoint's decisions are the same with or without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"tanh": _tanh, "relu": _relu}

Layer = tuple[np.ndarray, np.ndarray]
"""A linear layer as (weight transposed: inputs x outputs, bias), float32."""


@dataclass(frozen=True)
class Mlp:
    """Hidden layers with an activation after each, then a linear head (SB3's ``create_mlp``
    and ``MlpExtractor.policy_net`` + ``action_net``)."""

    hidden: tuple[Layer, ...]
    head: Layer
    activation: str

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r} (expected {', '.join(ACTIVATIONS)})")

    @property
    def n_inputs(self) -> int:
        return int((self.hidden[0][0] if self.hidden else self.head[0]).shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.head[0].shape[1])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        act = ACTIVATIONS[self.activation]
        for weight_t, bias in self.hidden:
            x = act(x @ weight_t + bias)
        weight_t, bias = self.head
        return x @ weight_t + bias


LstmState = tuple[np.ndarray, np.ndarray]
"""(hidden, cell), each (layers, hidden size) float32."""


@dataclass(frozen=True)
class LstmLayer:
    weight_ih_t: np.ndarray  # (inputs, 4 * hidden): gates in PyTorch's order i, f, g, o
    weight_hh_t: np.ndarray  # (hidden, 4 * hidden)
    bias: np.ndarray  # bias_ih + bias_hh


@dataclass(frozen=True)
class Lstm:
    """A stacked LSTM run one step at a time (``torch.nn.LSTM`` with sequence length 1)."""

    layers: tuple[LstmLayer, ...]

    @property
    def hidden_size(self) -> int:
        return int(self.layers[0].weight_hh_t.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.layers[0].weight_ih_t.shape[0])

    def initial_state(self) -> LstmState:
        shape = (len(self.layers), self.hidden_size)
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)

    def __call__(self, x: np.ndarray, state: LstmState) -> tuple[np.ndarray, LstmState]:
        hidden, cell = state
        size = self.hidden_size
        new_hidden = np.empty_like(hidden)
        new_cell = np.empty_like(cell)
        for index, layer in enumerate(self.layers):
            gates = x @ layer.weight_ih_t + hidden[index] @ layer.weight_hh_t + layer.bias
            i = _sigmoid(gates[:size])
            f = _sigmoid(gates[size : 2 * size])
            g = np.tanh(gates[2 * size : 3 * size])
            o = _sigmoid(gates[3 * size :])
            c = f * cell[index] + i * g
            x = o * np.tanh(c)
            new_hidden[index], new_cell[index] = x, c
        return x, (new_hidden, new_cell)


@dataclass(frozen=True)
class Normalizer:
    """``VecNormalize.normalize_obs`` with frozen statistics (``training=False``):
    ``clip((obs - mean) / sqrt(var + epsilon), -clip, clip)`` in float64, returned as float32."""

    mean: np.ndarray
    var: np.ndarray
    epsilon: float
    clip: float
    _std: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mean.shape != self.var.shape or self.mean.ndim != 1:
            raise ValueError("normaliser mean and var must be vectors of one length")
        if not (np.all(np.isfinite(self.mean)) and np.all(self.var >= 0)):
            raise ValueError("normaliser statistics must be finite, variances non-negative")
        # Exactly SB3's divisor: the same float64 operations give the same bits.
        object.__setattr__(self, "_std", np.sqrt(self.var + self.epsilon))

    @property
    def size(self) -> int:
        return int(self.mean.shape[0])

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        scaled = (observation - self.mean) / self._std
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)
