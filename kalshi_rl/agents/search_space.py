"""A declared hyperparameter search space: what ``kalshi-rl tune`` may vary, and how.

A space is a YAML mapping (one default per algorithm in ``agents/search_spaces/``)::

    algo: ppo                    # optional: the algorithm the space is for
    fixed:                       # optional: hyperparameters every trial gets
      n_epochs: 10
    parameters:                  # what the sampler varies
      learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}
      n_epochs: {type: int, low: 3, high: 20, step: 1}
      net_arch: {type: categorical, choices: [[64, 64], [128, 128]]}

Everything is checked before any data is loaded or any study is touched, against the
algorithm's own hyperparameter rules (``hyperparameters.validate``): an unknown name, a bound
the algorithm does not allow, ``low >= high``, a log scale over zero, a step that does not fit
-- and every combination of the ranges' ends (so no trial can draw, say, a ``batch_size``
larger than ``n_steps``). All problems come back in one ``ConfigError``.

Optuna's categorical choices are scalars; a list choice (``net_arch``) is handed to it as its
JSON text and decoded back, so the study's stored parameters stay readable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kalshi_rl.agents import hyperparameters as hp
from kalshi_rl.core.errors import ConfigError

if TYPE_CHECKING:
    from optuna.trial import Trial

_TOP = ("algo", "fixed", "parameters")
_KINDS = ("float", "int", "categorical")
_KEYS = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"}}
_KEYS["categorical"] = {"choices"}
_MAX_COMBINATIONS = 4096  # beyond this, the ends are checked two parameters at a time


@dataclass(frozen=True)
class Parameter:
    """One searched hyperparameter: a float or int range, or a list of choices."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Trial) -> Any:
        """Draw this parameter's value for ``trial`` (decoded: a list choice comes back a list)."""
        if self.kind == "float":
            assert self.low is not None and self.high is not None
            return trial.suggest_float(
                self.name, float(self.low), float(self.high), step=self.step, log=self.log
            )
        if self.kind == "int":
            assert self.low is not None and self.high is not None
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return decode_choice(trial.suggest_categorical(self.name, [encode_choice(c) for c in self.choices]))

    def ends(self) -> tuple[Any, ...]:
        """The values whose validity implies every value's: the two bounds, or every choice."""
        return self.choices if self.kind == "categorical" else (self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"type": "categorical", "choices": list(self.choices)}
        data: dict[str, Any] = {"type": self.kind, "low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            data["step"] = self.step
        return data


def encode_choice(value: Any) -> Any:
    """A choice as Optuna can store it: scalars as they are, anything else as its JSON text."""
    return value if value is None or isinstance(value, bool | int | float | str) else json.dumps(value)


def decode_choice(value: Any) -> Any:
    """The inverse of ``encode_choice`` (a JSON list or mapping back to Python)."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space for one algorithm."""

    algo: str
    fixed: dict[str, Any]
    parameters: tuple[Parameter, ...]
    source: str = "<memory>"

    def suggest(self, trial: Trial) -> dict[str, Any]:
        """The hyperparameters of one trial: the fixed ones plus one draw of each parameter."""
        return {**self.fixed, **{p.name: p.suggest(trial) for p in self.parameters}}

    def to_dict(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "fixed": dict(sorted(self.fixed.items())),
            "parameters": {p.name: p.to_dict() for p in sorted(self.parameters, key=lambda p: p.name)},
        }

    def fingerprint(self) -> str:
        """A short hash of what the space allows (not of how its file is written)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_space_path(algo: str) -> Path:
    """The packaged default space of ``algo`` (``agents/search_spaces/<algo>.yaml``)."""
    return Path(str(resources.files("kalshi_rl.agents") / "search_spaces" / f"{algo}.yaml"))


def load_space(path: Path | None, algo: str, n_envs: int = 1) -> SearchSpace:
    """Read and validate a space file, or ``algo``'s default when ``path`` is None."""
    algo = algo.lower()
    hp.validate(algo, {}, n_envs)  # an unknown algorithm, or one that cannot act in the env, first
    if path is None:
        path = default_space_path(algo)
        if not path.is_file():
            raise ConfigError(f"there is no default search space for {algo}; give one with --space FILE")
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read search space {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"search space {path} is not valid YAML: {exc}") from None
    return parse_space(data, algo, n_envs, source=str(path))


def parse_space(data: Any, algo: str, n_envs: int = 1, source: str = "<memory>") -> SearchSpace:
    """Build a ``SearchSpace`` from its mapping, or raise one ``ConfigError`` listing every problem."""
    where = f"search space {source}"
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with 'parameters' (and optionally 'algo', 'fixed')")
    problems = [f"unknown key {k!r} (expected algo, fixed, parameters)" for k in data if k not in _TOP]
    declared = data.get("algo")
    if declared is not None and str(declared).lower() != algo:
        problems.append(f"it is for {declared!r}, not {algo!r} (give --algo {declared} or another space)")
    fixed = data.get("fixed") or {}
    raw = data.get("parameters")
    if not isinstance(fixed, dict):
        problems.append("'fixed' must map hyperparameter names to values")
        fixed = {}
    if not isinstance(raw, dict) or not raw:
        problems.append("'parameters' must map at least one hyperparameter name to its range")
        raw = {}
    problems += [f"{k!r} is both fixed and searched" for k in raw if k in fixed]
    parameters = []
    for name, spec in raw.items():
        parameter, found = _parameter(str(name), spec)
        problems += found
        if parameter is not None:
            parameters.append(parameter)
    if not problems:
        problems += _draw_problems(algo, fixed, parameters, n_envs)
    if problems:
        raise ConfigError(f"invalid {where}: " + "; ".join(dict.fromkeys(problems)))
    return SearchSpace(algo, dict(fixed), tuple(parameters), source)


def _parameter(name: str, spec: Any) -> tuple[Parameter | None, list[str]]:
    at = f"parameters.{name}"
    if not isinstance(spec, dict):
        return None, [f"{at} must be a mapping with a type ({', '.join(_KINDS)})"]
    kind = spec.get("type")
    if kind not in _KINDS:
        return None, [f"{at}.type must be one of {', '.join(_KINDS)}, got {kind!r}"]
    problems = [f"{at}: unknown key {k!r} for a {kind}" for k in spec if k != "type" and k not in _KEYS[kind]]
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            return None, [*problems, f"{at}.choices must be a non-empty list"]
        if len({json.dumps(c, sort_keys=True) for c in choices}) != len(choices):
            problems.append(f"{at}.choices has a value twice")
        return Parameter(name, kind, choices=tuple(choices)), problems
    number = (int,) if kind == "int" else (int, float)
    low: Any = spec.get("low")
    high: Any = spec.get("high")
    log: Any = spec.get("log", False)
    step: Any = spec.get("step")
    for key, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
            problems.append(
                f"{at}.{key} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}"
            )
    if not isinstance(log, bool):
        problems.append(f"{at}.log must be true or false, got {log!r}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, number) or step <= 0):
        problems.append(
            f"{at}.step must be a positive {'integer' if kind == 'int' else 'number'}, got {step!r}"
        )
    if problems:
        return None, problems
    if low >= high:
        problems.append(f"{at}: low {low} must be below high {high} (put a constant under 'fixed')")
    if log and low <= 0:
        problems.append(f"{at}: a log scale needs low > 0, got {low}")
    if log and step is not None:
        problems.append(f"{at}: give log or step, not both")
    if step is not None and not problems and not _fits(high - low, step):
        problems.append(f"{at}: high - low = {high - low} is not a multiple of step {step}")
    return Parameter(name, kind, low, high, log, step), problems


def _fits(span: float, step: float) -> bool:
    ratio = span / step
    return math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9)


def _rule_problems(algo: str, params: dict[str, Any], n_envs: int) -> list[str]:
    """What ``hyperparameters.validate`` says about ``params`` (one message per problem)."""
    try:
        hp.validate(algo, params, n_envs)
    except ConfigError as exc:
        return str(exc).removeprefix("invalid hyperparameters: ").split("; ")
    return []


def _draw_problems(algo: str, fixed: dict[str, Any], parameters: list[Parameter], n_envs: int) -> list[str]:
    """What the algorithm's rules say about the draws made of the ranges' ends.

    A value inside a range is valid when both ends are (the rules are intervals), and the rules
    relating two parameters (a batch no larger than the rollout) are monotone, so the ends
    decide; they are tried all together, or two parameters at a time when that is too many.
    """
    names = [p.name for p in parameters]
    ends = [p.ends() for p in parameters]
    if math.prod(len(e) for e in ends) <= _MAX_COMBINATIONS:
        draws: Any = itertools.product(*ends)
    else:  # two at a time, the others at their first end
        firsts = [e[0] for e in ends]
        draws = (
            tuple(a if k == i else b if k == j else firsts[k] for k in range(len(ends)))
            for i, j in itertools.combinations(range(len(ends)), 2)
            for a, b in itertools.product(ends[i], ends[j])
        )
    problems: list[str] = []
    for draw in draws:
        problems += _rule_problems(algo, {**fixed, **dict(zip(names, draw, strict=True))}, n_envs)
    return problems
