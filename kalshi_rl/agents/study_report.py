"""Read a ``tune`` study back: its definition, its trials and its best, and export the best.

Reading never creates anything: a database where no study was ever stored answers "no
studies" instead of growing Optuna's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from kalshi_rl.agents.study_storage import StudyStorage
from kalshi_rl.core.errors import ConfigError, DataNotFoundError

_STATES = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}


_LOST = {"FAIL": "its worker died or crashed before recording why"}
"""The note of a failed trial that has none: a worker records each failure it handles with its
reason, so a silent one had its worker killed (marked failed by another worker's heartbeat
check) or crash on an unexpected error."""


@dataclass(frozen=True)
class TrialRow:
    """One trial as ``inspect study`` shows it."""

    number: int
    state: str  # complete | pruned | failed | running | waiting
    value: float | None
    model: str | None
    hyperparameters: dict[str, Any]
    params: dict[str, Any]
    """What the sampler drew (Optuna's form: a list choice as its JSON text)."""
    last_step: int | None
    worker: str | None
    note: str | None
    started: datetime | None
    finished: datetime | None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("started", "finished"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class StudyReport:
    name: str
    definition: dict[str, Any]
    space: dict[str, Any]
    data: dict[str, Any] | None
    baselines: list[dict[str, Any]]
    trials: list[TrialRow]

    @property
    def best(self) -> TrialRow | None:
        """The complete trial with the highest validation P&L (the lowest number on a tie)."""
        complete = [t for t in self.trials if t.state == "complete" and t.value is not None]
        return max(complete, key=lambda t: (t.value, -t.number)) if complete else None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.state] = counts.get(trial.state, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "study": self.name,
            "definition": self.definition,
            "space": self.space,
            "data": self.data,
            "validation_baselines": self.baselines,
            "counts": self.counts(),
            "best": best.to_dict() if best else None,
            "trials": [t.to_dict() for t in self.trials],
        }


def study_names(storage: StudyStorage) -> list[str]:
    """Every study stored here, oldest first."""
    if not storage.exists():
        return []
    import optuna

    return optuna.get_all_study_names(storage.open())


def read_study(storage: StudyStorage, name: str) -> StudyReport:
    """The study ``name`` with every trial, or DataNotFoundError naming the studies there are."""
    names = study_names(storage)
    if name not in names:
        known = f"studies: {', '.join(names)}" if names else "no studies yet (run `kalshi-rl tune`)"
        raise DataNotFoundError(f"no study {name!r} at {storage.describe()} ({known})")
    import optuna

    study = optuna.load_study(study_name=name, storage=storage.open())
    attrs = study.user_attrs
    trials = [
        TrialRow(
            number=t.number,
            state=_STATES[t.state.name],
            value=t.value if t.state.name == "COMPLETE" else None,
            model=t.user_attrs.get("model"),
            hyperparameters=t.user_attrs.get("hyperparameters", {}),
            params=t.params,
            last_step=t.last_step,
            worker=t.user_attrs.get("worker"),
            note=t.user_attrs.get("note") or _LOST.get(t.state.name),
            started=t.datetime_start,
            finished=t.datetime_complete,
        )
        for t in study.get_trials(deepcopy=False)
    ]
    return StudyReport(
        name,
        attrs.get("definition", {}),
        attrs.get("space", {}),
        attrs.get("data"),
        attrs.get("validation_baselines", []),
        trials,
    )


def export_best(report: StudyReport, path: Path) -> TrialRow:
    """Write the best trial's hyperparameters as a ``train --config`` YAML; return that trial."""
    best = report.best
    if best is None:
        raise DataNotFoundError(f"study {report.name!r} has no complete trial to export yet")
    definition = report.definition
    normalize = definition.get("normalize") or {}
    flags = [f"--algo {definition.get('algo', 'ppo')}"]
    flags += [f"--normalize-{k}" for k in ("obs", "reward") if normalize.get(k)]
    header = (
        f"# Best trial of study {report.name}: trial {best.number} ({best.model}), validation P&L "
        f"${best.value:,.2f}\n# Train it: kalshi-rl train {' '.join(flags)} --config {path.name} ...\n"
    )
    try:
        path.write_text(
            header + yaml.safe_dump(best.hyperparameters, sort_keys=True, default_flow_style=None)
        )
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return best
