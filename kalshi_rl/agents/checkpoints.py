"""Checkpoints: an SB3 zip plus ``contract.json``, both written atomically.

``models/<model_id>/checkpoint.zip`` is what the actor hot-reloads; ``contract.json`` beside it
holds the train/serve contract (observation spec, action map, fill and fee settings, tick) so
the checkpoint is never separated from what its inputs mean. Both are written to a temporary
name and renamed, so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

CHECKPOINT = "checkpoint.zip"
CONTRACT = "contract.json"


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


def save_checkpoint(model: Saveable, directory: Path, contract: dict[str, Any]) -> Path:
    """Save ``model`` and its contract into ``directory``; return the checkpoint path."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / CHECKPOINT
    tmp = directory / f".checkpoint-{os.getpid()}.tmp.zip"
    model.save(str(tmp))
    _fsync(tmp)
    write_json_atomic(directory / CONTRACT, contract)
    os.replace(tmp, final)
    return final


def read_contract(directory: Path) -> dict[str, Any]:
    with open(directory / CONTRACT) as handle:
        return json.load(handle)
