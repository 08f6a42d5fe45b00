"""A policy's weights as plain arrays: from an SB3 state dict, to and from ``policy.npz``.

``policy.npz`` (written beside each checkpoint, fingerprinted in ``contract.json``) holds what
the paper actor needs and nothing else -- the actor half of the network, the observation
normaliser's statistics, DQN's final exploration rate -- so loading a model needs numpy only
(no torch, no SB3, no pickle). Older checkpoints without it are read from the SB3 zip's
``policy.pth`` (that path imports torch, only to deserialise).

Kinds, from the state dict's keys:

- ``actor_critic`` (PPO, A2C, MaskablePPO): ``mlp_extractor.policy_net.*`` then ``action_net``;
- ``recurrent`` (RecurrentPPO): ``lstm_actor`` then the same two (the actor's own LSTM, whether
  or not the critic shares it);
- ``q`` (DQN): ``q_net.q_net.*``, its last linear layer the head (argmax of Q).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kalshi_rl.core.errors import ConfigError

POLICY_FILE = "policy.npz"
FORMAT_VERSION = 1
KINDS = ("actor_critic", "recurrent", "q")

_POLICY_NET = re.compile(r"mlp_extractor\.policy_net\.(\d+)\.weight")
_Q_NET = re.compile(r"q_net\.q_net\.(\d+)\.weight")
_LSTM = re.compile(r"lstm_actor\.weight_ih_l(\d+)")


def _linear(state: Mapping[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(state[f"{prefix}.weight"], np.float32), np.asarray(state[f"{prefix}.bias"], np.float32)


def arrays_from_state_dict(state: Mapping[str, np.ndarray], activation: str) -> dict[str, np.ndarray]:
    """The actor network of an SB3 policy state dict (tensors as numpy arrays), in the
    ``policy.npz`` layout. Raises ``ConfigError`` for a network this module cannot run."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION),
        "activation": np.array(activation),
    }
    try:
        if "q_net.q_net.0.weight" in state:
            kind = "q"
            indices = sorted(int(m.group(1)) for key in state if (m := _Q_NET.fullmatch(key)))
            layers = [_linear(state, f"q_net.q_net.{i}") for i in indices]
            hidden, head = layers[:-1], layers[-1]
        elif "action_net.weight" in state:
            kind = "recurrent" if "lstm_actor.weight_ih_l0" in state else "actor_critic"
            indices = sorted(int(m.group(1)) for key in state if (m := _POLICY_NET.fullmatch(key)))
            hidden = [_linear(state, f"mlp_extractor.policy_net.{i}") for i in indices]
            head = _linear(state, "action_net")
            if kind == "recurrent":
                for layer in sorted(int(m.group(1)) for key in state if (m := _LSTM.fullmatch(key))):
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        arrays[f"lstm.{layer}.{name}"] = np.asarray(
                            state[f"lstm_actor.{name}_l{layer}"], np.float32
                        )
        else:
            raise ConfigError("the checkpoint holds no actor network (no action_net, no q_net)")
    except KeyError as exc:
        raise ConfigError(f"the checkpoint's actor network is incomplete (missing {exc})") from None
    arrays["kind"] = np.array(kind)
    for i, (weight, bias) in enumerate(hidden):
        arrays[f"mlp.hidden.{i}.weight"], arrays[f"mlp.hidden.{i}.bias"] = weight, bias
    arrays["mlp.head.weight"], arrays["mlp.head.bias"] = head
    return arrays


def state_dict_from_zip(checkpoint: Path) -> dict[str, np.ndarray]:
    """The policy state dict of an SB3 checkpoint zip (imports torch, to deserialise only)."""
    import torch

    try:
        with zipfile.ZipFile(checkpoint) as archive, archive.open("policy.pth") as handle:
            state = torch.load(io.BytesIO(handle.read()), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"checkpoint not found: {checkpoint}") from None
    except (zipfile.BadZipFile, KeyError, RuntimeError, EOFError) as exc:
        raise ConfigError(
            f"{checkpoint} is not a readable SB3 checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    return {key: value.numpy() for key, value in state.items()}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str) -> None:
    """Refuse (``ConfigError``) a file that is missing or whose content is not ``sha256``."""
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if actual != sha256:
        raise ConfigError(f"{path} does not match the sha256 that contract.json records for it")


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed npz (no pickled objects)."""
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def read_arrays(path: Path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Read a ``policy.npz``; with ``sha256``, refuse a file whose content differs from it (a
    checkpoint being rewritten, or a file that does not belong to this contract)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ConfigError(f"{path} does not match the sha256 that contract.json records for it")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{path} is not a readable policy file ({exc})") from None
    version = int(arrays.get("format_version", np.array(0)))
    if version != FORMAT_VERSION:
        raise ConfigError(f"{path} has policy format {version}; this kalshi-rl reads {FORMAT_VERSION}")
    return arrays
