"""``tune``: Optuna trials that train on one window and are scored on a later one.

A worker joins a study (``join_study``: created by the first worker, its definition checked
by every later one -- see ``study_spec``) and runs trials until it has run its share, the
study is stopped, or it is asked to stop. Each trial:

1. draws hyperparameters from the search space (TPE, multivariate; while the study has
   fewer than its startup trials, at random);
2. trains them with the ``Trainer`` on the training window as model ``<study>-t<number>`` (a
   registry row like any ``train`` run: parameters, contract, data, checkpoints, episodes);
3. every ``eval_every`` timesteps, checkpoints and scores that checkpoint on the validation
   window -- the same deterministic evaluation as ``kalshi-rl evaluate`` -- and reports the
   score; a trial the pruner finds unpromising stops there (``pruned``; its row ``stopped``);
4. when trained, is scored once more: its value is the validation P&L after fees, stored
   with the other metrics and the baselines' in the model's ``performance_summary``.

Many workers, on as many machines as share the database, run one study together: Optuna's
storage hands each its trials (no scheduler of ours). Each worker beats a heartbeat while it
runs a trial; a worker that dies (``kill -9``, a lost machine) leaves a trial that the next
worker to start a trial marks failed, and its model row with it. ``request_stop`` (Ctrl-C)
ends the running trial's training at the next step: the trial is marked failed (it was not
trained to its budget, so its score would mislead the sampler), its model row ``stopped``
with its checkpoint, and the worker returns.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState
from stable_baselines3.common.callbacks import BaseCallback

from kalshi_rl.agents.evaluation import Metrics, baselines, evaluate_model, run_policy
from kalshi_rl.agents.study_spec import StudySpec, differences
from kalshi_rl.agents.study_storage import StudyStorage
from kalshi_rl.agents.training import Trainer
from kalshi_rl.core.errors import ConfigError, DataNotFoundError
from kalshi_rl.data.registry import ModelRecord, ModelRegistry
from kalshi_rl.data.replay.lake import ReplayData
from kalshi_rl.environments.tape import Tape

logger = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"


class TrialFailedError(Exception):
    """A trial's training failed; the study goes on (``optimize(catch=...)``)."""


class WorkerStoppedError(Exception):
    """The worker was asked to stop in the middle of a trial; the trial is marked failed."""


@dataclass(frozen=True)
class TrialOutcome:
    """What one finished trial of this worker came to (for the command's report)."""

    number: int
    state: str  # complete | pruned | failed
    value: float | None
    model: str | None
    note: str | None


def join_study(
    storage: StudyStorage,
    spec: StudySpec,
    registry: ModelRegistry,
    *,
    heartbeat_seconds: int = 10,
    sampler_seed: int | None = None,
    startup_trials: int = 10,
) -> optuna.Study:
    """Create the study, or join it when its definition is ours; refuse it otherwise."""
    pruners: dict[str, optuna.pruners.BasePruner] = {
        "median": optuna.pruners.MedianPruner(n_startup_trials=spec.pruner_startup_trials),
        "halving": optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.eval_every),
        "none": optuna.pruners.NopPruner(),
    }
    with storage.setup_lock():
        study = optuna.create_study(
            study_name=spec.name,
            storage=storage.open(heartbeat_seconds, on_stale_trial=_MarkLostModel(registry)),
            sampler=optuna.samplers.TPESampler(
                multivariate=True, seed=sampler_seed, n_startup_trials=startup_trials
            ),
            pruner=pruners[spec.pruner],
            direction="maximize",
            load_if_exists=True,
        )
        stored = study.user_attrs.get("definition")
        if stored is None:
            study.set_user_attr("definition", spec.definition())
            study.set_user_attr("space", spec.space.to_dict())
        elif stored["space_fingerprint"] != spec.space.fingerprint():
            raise ConfigError(
                f"study {spec.name!r} exists with another search space (fingerprint "
                f"{stored['space_fingerprint']}, this one {spec.space.fingerprint()}): use its space "
                f"(`kalshi-rl inspect study {spec.name}` shows it) or another --study name"
            )
        elif diff := differences(stored, spec.definition()):
            raise ConfigError(
                f"study {spec.name!r} was defined with other {', '.join(diff)}: every worker of a study "
                "must train and score alike (see `kalshi-rl inspect study "
                f"{spec.name}`), or use another --study name"
            )
    return study


def bind_data(study: optuna.Study, storage: StudyStorage, train: ReplayData, validation: ReplayData) -> None:
    """Record the windows' data fingerprints in the study, or refuse data that differs from them
    (another machine's lake holding other data for the same windows)."""
    ours = {"train": train.describe(), "validation": validation.describe()}
    with storage.setup_lock():
        stored = study.user_attrs.get("data")
        if stored is None:
            study.set_user_attr("data", ours)
            return
    for which in ("train", "validation"):
        if stored[which]["fingerprint"] != ours[which]["fingerprint"]:
            raise ConfigError(
                f"the {which} window's data here (fingerprint {ours[which]['fingerprint']}, "
                f"{ours[which]['segments']} segments) is not the data study {study.study_name!r} was "
                f"scored on ({stored[which]['fingerprint']}, {stored[which]['segments']} segments)"
            )


class _MarkLostModel:
    """Optuna's stale-trial callback: the registry row of a trial whose worker died is failed too."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        model_id = trial.user_attrs.get("model_id")
        try:
            record = self.registry.get(model_id) if model_id else None
        except DataNotFoundError:  # the worker died before its trial's training started
            record = None
        logger.warning("trial %d of study %s lost its worker: marked failed", trial.number, study.study_name)
        if record is not None and record.status == "training":
            self.registry.update(
                record.id,
                status="failed",
                notes=f"its tune worker stopped beating (killed?): trial {trial.number} of study "
                f"{study.study_name} marked failed by {WORKER}; last checkpoint: {record.checkpoint_path}",
            )


class _Validation(BaseCallback):
    """Every ``eval_every`` timesteps: checkpoint, score on the validation window, report,
    and end the training if the pruner says so."""

    def __init__(self, worker: TuningWorker, trial: Trial) -> None:
        super().__init__()
        self.worker = worker
        self.trial = trial
        self.next_step = worker.spec.eval_every
        self.last: tuple[int, Metrics] | None = None
        self.pruned = False

    def _on_step(self) -> bool:
        spec = self.worker.spec
        run = self.worker.trainer.current
        assert run is not None
        if self.worker.stopping:  # a stop asked for before this run existed
            run.stop_requested.set()
            return False
        # The last evaluation is the final one, after training (PPO still updates after the
        # last step seen here); steps are multiples of eval_every so trials compare step by step.
        if self.num_timesteps < self.next_step or self.next_step >= spec.template.timesteps:
            return True
        step = self.next_step
        while self.next_step <= self.num_timesteps:
            self.next_step += spec.eval_every
        run.checkpoint()
        metrics = self.worker.score(run.record)
        self.last = (step, metrics)
        self.trial.report(metrics.total_pnl, step)
        if self.trial.should_prune():
            self.pruned = True
            run.stop_requested.set()
            return False
        return True


class TuningWorker:
    """Runs trials of one study on preloaded windows (see the module docstring)."""

    def __init__(
        self,
        study: optuna.Study,
        spec: StudySpec,
        trainer: Trainer,
        train: tuple[ReplayData, list[Tape]],
        validation: tuple[ReplayData, list[Tape]],
        on_trial: Callable[[TrialOutcome], None] | None = None,
    ) -> None:
        self.study = study
        self.spec = spec
        self.trainer = trainer
        self.train_data, self.train_tapes = train
        self.validation_data, self.validation_tapes = validation
        self.on_trial = on_trial
        self.outcomes: list[TrialOutcome] = []
        self.interrupted = False
        self._stop = threading.Event()
        self._trial: Trial | None = None  # the running trial
        self._baselines = [
            run_policy(p, self.validation_tapes, spec.template.env, spec.template.seed)
            for p in baselines(spec.template.seed)
        ]

    @property
    def registry(self) -> ModelRegistry:
        return self.trainer.registry

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Stop soon: the running training ends at its next step (safe from a signal handler)."""
        self._stop.set()
        run = self.trainer.current
        if run is not None:
            run.stop_requested.set()

    def run(self, n_trials: int) -> list[TrialOutcome]:
        """Run up to ``n_trials`` trials of the study; return this worker's outcomes."""
        if "validation_baselines" not in self.study.user_attrs:
            self.study.set_user_attr("validation_baselines", [m.to_dict() for m in self._baselines])
        try:
            self.study.optimize(
                self._objective,
                n_trials=n_trials,
                catch=(TrialFailedError,),
                callbacks=[self._after_trial],
                gc_after_trial=True,
            )
        except WorkerStoppedError as exc:  # Optuna marked the trial failed, then let this through
            self.interrupted = True
            if self._trial is not None:
                self._record(
                    self._trial.number, "failed", None, self._trial.user_attrs.get("model"), str(exc)
                )
        return self.outcomes

    def score(self, record: ModelRecord) -> Metrics:
        """The checkpoint of ``record`` on the validation window, as ``kalshi-rl evaluate`` runs it."""
        return evaluate_model(record, self.validation_tapes, seed=self.spec.template.seed)

    def _objective(self, trial: Trial) -> float:
        self._trial = trial
        if self._stop.is_set():
            raise WorkerStoppedError("the worker was stopped before this trial started")
        params = self.spec.space.suggest(trial)
        model_id = uuid.uuid4()
        trial.set_user_attr("model_id", str(model_id))
        trial.set_user_attr("hyperparameters", params)
        trial.set_user_attr("worker", WORKER)
        request = replace(
            self.spec.template,
            name=f"{self.spec.name}-t{trial.number}",
            hyperparameters=params,
            model_id=model_id,
            notes=f"trial {trial.number} of study {self.spec.name}",
        )
        validation = _Validation(self, trial)
        try:
            record = self.trainer.train(request, self.train_data, self.train_tapes, callback=validation)
        except ConfigError as exc:  # parameters the space allowed but the algorithm refused
            trial.set_user_attr("note", str(exc))
            raise TrialFailedError(str(exc)) from None
        trial.set_user_attr("model", record.label)
        if record.status == "failed":
            trial.set_user_attr("note", record.notes or "training failed")
            raise TrialFailedError(record.notes or "training failed")
        if validation.pruned:
            assert validation.last is not None
            step, metrics = validation.last
            note = f"pruned at {step:,} timesteps: validation P&L ${metrics.total_pnl:,.2f}"
            self._store(trial, record, metrics, "pruned", note)
            raise optuna.TrialPruned(note)
        if record.status != "ready":  # stopped: Ctrl-C
            note = f"interrupted at {record.training_timesteps:,} timesteps (the worker was stopped)"
            self.registry.update(record.id, notes=f"{record.notes}; {note}: trial marked failed")
            trial.set_user_attr("note", note)
            raise WorkerStoppedError(note)
        metrics = self.score(record)
        trial.report(metrics.total_pnl, max(self.spec.template.timesteps, record.training_timesteps))
        self._store(trial, record, metrics, "complete", None)
        return metrics.total_pnl

    def _store(
        self, trial: Trial, record: ModelRecord, metrics: Metrics, state: str, note: str | None
    ) -> None:
        """The scores in the trial and in the model's row (the shape ``evaluate`` stores)."""
        results = [metrics, *self._baselines]
        trial.set_user_attr("validation", metrics.to_dict())
        if note:
            trial.set_user_attr("note", note)
        summary = {
            "window": self.validation_data.describe(),
            "fees": self.spec.template.env.fill.fees.to_dict(),
            "results": [m.to_dict() for m in results],
            "beats_baselines": all(metrics.total_pnl > m.total_pnl for m in self._baselines),
            "study": {"name": self.spec.name, "trial": trial.number, "state": state, "worker": WORKER},
        }
        notes = f"{record.notes}; {note}" if note else record.notes
        self.registry.update(record.id, performance_summary=summary, notes=notes)

    def _after_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        state = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned"}.get(trial.state, "failed")
        self._trial = None
        self._record(
            trial.number, state, trial.value, trial.user_attrs.get("model"), trial.user_attrs.get("note")
        )
        if self._stop.is_set():
            study.stop()

    def _record(
        self, number: int, state: str, value: float | None, model: str | None, note: str | None
    ) -> None:
        outcome = TrialOutcome(number, state, value, model, note)
        self.outcomes.append(outcome)
        if self.on_trial is not None:
            self.on_trial(outcome)
