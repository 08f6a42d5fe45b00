"""Checkpoints: an SB3 zip plus ``contract.json`` and, beside them, the files serving needs.

``models/<model_id>/checkpoint.zip`` is what the actor hot-reloads; ``contract.json`` beside it
holds the train/serve contract (observation spec, action map, fill and fee settings, tick, mask,
normalisation) so the checkpoint is never separated from what its inputs mean. Two more files
may sit beside them, each fingerprinted (sha256) in ``contract.json``'s ``files`` (with the zip
itself, which the paper actor then checks although it reads ``policy.npz``):

- ``policy.npz``: the actor network and the observation normaliser's statistics as plain
  arrays (``inference_weights``): what the paper actor loads, without torch;
- ``vecnormalize.pkl``: SB3's own ``VecNormalize.save`` (for ``VecNormalize.load``: resuming
  training, SB3 tools).

Every file is written to a temporary name and renamed, so a reader (or a crash) never sees half
a file. The order makes the zip's rename the last step (its mtime is what the actor polls),
after the files it refers to and ``contract.json``; a reader that still races a rewrite finds a
sha256 that does not match and retries at its next poll.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kalshi_rl.agents.inference_weights import POLICY_FILE, file_sha256, write_arrays

CHECKPOINT = "checkpoint.zip"
CONTRACT = "contract.json"
NORMALIZER_FILE = "vecnormalize.pkl"


class Saveable(Protocol):
    def save(self, path: str) -> None: ...


def model_dir(models_dir: Path, model_id: str) -> Path:
    return models_dir / model_id


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    _fsync(tmp)
    os.replace(tmp, path)


def save_checkpoint(
    model: Saveable,
    directory: Path,
    contract: dict[str, Any],
    *,
    arrays: Mapping[str, np.ndarray] | None = None,
    normalizer: Saveable | None = None,
) -> Path:
    """Save ``model`` and its contract into ``directory`` (with ``arrays`` as ``policy.npz``
    and ``normalizer`` as ``vecnormalize.pkl`` when given); return the checkpoint path."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / CHECKPOINT
    pid = os.getpid()
    tmp = directory / f".checkpoint-{pid}.tmp.zip"
    model.save(str(tmp))
    _fsync(tmp)
    staged: dict[str, Path] = {}
    if arrays is not None:
        staged[POLICY_FILE] = directory / f".policy-{pid}.tmp.npz"
        write_arrays(staged[POLICY_FILE], arrays)
    if normalizer is not None:
        staged[NORMALIZER_FILE] = directory / f".vecnormalize-{pid}.tmp.pkl"
        normalizer.save(str(staged[NORMALIZER_FILE]))
    # The zip is fingerprinted too: a reader of policy.npz alone would otherwise serve weights
    # beside a checkpoint that was replaced by something else (a corrupt or foreign file).
    files = {CHECKPOINT: {"sha256": file_sha256(tmp)}} if staged else {}
    for name, path in staged.items():
        _fsync(path)
        files[name] = {"sha256": file_sha256(path)}
        os.replace(path, directory / name)
    write_json_atomic(directory / CONTRACT, {**contract, "files": files} if files else contract)
    os.replace(tmp, final)
    return final


def read_contract(directory: Path) -> dict[str, Any]:
    with open(directory / CONTRACT) as handle:
        return json.load(handle)
