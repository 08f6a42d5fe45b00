"""The optional parts of the install: training needs the ``train`` extra, nothing else does.

The base install records, serves and paper-trades (the actor runs its policy with numpy); the
training stack (PyTorch, Stable-Baselines3, Gymnasium, Optuna, TensorBoard, matplotlib) comes
with ``pip install 'kalshi-rl[train]'``. A command that needs it and finds it missing says so.
"""

from __future__ import annotations

from kalshi_rl.core.errors import ConfigError

TRAIN_EXTRA_MODULES = frozenset(
    {"torch", "stable_baselines3", "sb3_contrib", "gymnasium", "optuna", "tensorboard", "matplotlib"}
)


class MissingExtraError(ConfigError):
    """A command needs a package of an extra that is not installed."""


def missing_extra(exc: ModuleNotFoundError) -> MissingExtraError | None:
    """The error to show for ``exc`` if it is a training package missing; None otherwise."""
    module = (exc.name or "").split(".")[0]
    if module not in TRAIN_EXTRA_MODULES:
        return None
    return MissingExtraError(
        f"this needs the training extra, which is not installed here (no module {module!r}): "
        "pip install 'kalshi-rl[train]'"
    )
