"""``kalshi-rl`` as the base install runs it: without the ``train`` extra.

``python -m tests.support.without_training ARGS`` runs ``kalshi-rl ARGS`` in a process where
importing any package of the extra (torch, SB3, sb3-contrib, Gymnasium, Optuna, TensorBoard,
matplotlib) fails as it does when the package is not installed, so a test can check that a
command works (or refuses with the right message) without them, with no second virtualenv.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from kalshi_rl.core.extras import TRAIN_EXTRA_MODULES


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in TRAIN_EXTRA_MODULES:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def main() -> None:
    assert not TRAIN_EXTRA_MODULES & set(sys.modules), "imported before the blocker"
    sys.meta_path.insert(0, _NotInstalled())
    from kalshi_rl.cli.app import main as kalshi_rl

    sys.argv = ["kalshi-rl", *sys.argv[1:]]
    kalshi_rl()


if __name__ == "__main__":
    main()
