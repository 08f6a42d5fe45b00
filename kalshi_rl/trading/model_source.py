"""Where the actor's model comes from, and how it notices a new one (spec §4.5 hot reload).

``ModelSource`` resolves a model reference (id, ``NAME`` = latest version, or ``NAME@VERSION``)
in the registry, loads its checkpoint as an inference-only policy, and checks its train/serve
contract: this code must reproduce it exactly, the checkpoint's ``contract.json`` must agree
with the registry, and once trading, a replacement must have the same contract as the model it
replaces. The policy is what ``load_policy`` makes of the checkpoint and its contract (the
mask of a masked model, the normaliser's statistics, the recurrent network): a model whose
contract lacks what serving it needs is refused here, before any trading. ``changed()`` is the
cheap poll: a different row for the reference (a new version),
a new checkpoint file (its mtime), or a checkpoint that is gone (so that ``load`` says why and
the caller counts and logs the refusal, rather than the model losing its file unnoticed). Both
run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kalshi_rl.agents.inference import InferencePolicy, load_policy
from kalshi_rl.core.errors import ConfigError, KalshiRLError
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.environments.contract import EnvConfig, env_config_from_contract

LOADABLE = ("ready", "deployed", "stopped", "training")
FOLLOWED = ("ready", "deployed")
"""A bare NAME follows its latest version with one of these statuses (spec §4.5: the trainer
marks a new version ready once its checkpoint is written)."""


class ContractMismatchError(ConfigError):
    """A checkpoint's train/serve contract differs from the one the actor runs under."""


@dataclass(frozen=True)
class LoadedModel:
    record: ModelRecord
    policy: InferencePolicy
    contract: dict[str, Any]
    env: EnvConfig
    checkpoint: Path
    mtime_ns: int
    loaded_ns: int

    @property
    def label(self) -> str:
        return self.record.label


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


class ModelSource:
    """Loads the model behind a reference and tells when a newer checkpoint exists."""

    def __init__(self, registry: ModelRegistry, ref: str) -> None:
        self.registry = registry
        self.ref = ref

    def load(self, required_contract: dict[str, Any] | None = None) -> LoadedModel:
        """Load the reference's current checkpoint (blocking: call it in a thread)."""
        record = self._resolve()
        if record.status not in LOADABLE:
            raise ConfigError(f"model {record.label} is {record.status}: {record.notes or 'not loadable'}")
        checkpoint = Path(record.checkpoint_path)
        try:
            mtime_ns = checkpoint.stat().st_mtime_ns
        except OSError:
            raise ConfigError(f"model {record.label} has no checkpoint at {checkpoint}") from None
        contract = record.training_config.get("contract")
        if not isinstance(contract, dict):
            raise ConfigError(f"model {record.label} has no train/serve contract in the registry")
        sidecar = self._sidecar(checkpoint)
        if _differences({k: sidecar.get(k) for k in contract}, contract):
            raise ContractMismatchError(
                f"{checkpoint.parent / 'contract.json'} disagrees with the registry row of {record.label}"
            )
        try:
            env = env_config_from_contract(contract)
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractMismatchError(
                f"this kalshi-rl cannot reproduce the contract of {record.label}: {exc}"
            ) from None
        if required_contract is not None and contract != required_contract:
            raise ContractMismatchError(
                f"{record.label} was trained under a different contract ({', '.join(_differences(contract, required_contract))})"
            )
        try:
            # The registry's architecture says how to run the network; contract.json the rest.
            policy = load_policy(checkpoint, sidecar={**sidecar, "architecture": record.architecture})
        except ContractMismatchError:
            raise
        except ConfigError as exc:
            raise ConfigError(f"cannot serve {record.label}: {exc}") from None
        if policy.n_inputs != env.spec.size:
            raise ContractMismatchError(
                f"{record.label}'s network takes {policy.n_inputs} inputs, the spec has {env.spec.size}"
            )
        return LoadedModel(record, policy, contract, env, checkpoint, mtime_ns, time.time_ns())

    def _resolve(self) -> ModelRecord:
        """The row behind the reference: a bare NAME follows its latest ready version."""
        if "@" in self.ref:
            return self.registry.get(self.ref)
        try:
            return self.registry.get(self.ref, statuses=FOLLOWED)
        except KalshiRLError:
            return self.registry.get(self.ref)  # an id, or a name with no ready version yet

    @staticmethod
    def _sidecar(checkpoint: Path) -> dict[str, Any]:
        path = checkpoint.parent / "contract.json"
        try:
            data = json.loads(path.read_text())
        except OSError:
            raise ConfigError(f"checkpoint {checkpoint} has no contract.json beside it") from None
        except ValueError:
            raise ConfigError(f"{path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} does not hold a contract")
        return data

    def changed(self, current: LoadedModel) -> bool:
        """Whether the reference now points at another row, or its checkpoint was rewritten or
        is gone (checkpoints are replaced by an atomic rename: a missing file is not one being
        written)."""
        try:
            record = self._resolve()
        except KalshiRLError:
            return False
        if record.id != current.record.id or record.checkpoint_path != str(current.checkpoint):
            return True
        try:
            return Path(record.checkpoint_path).stat().st_mtime_ns != current.mtime_ns
        except OSError:
            return True  # gone: ``load`` refuses it with the reason
