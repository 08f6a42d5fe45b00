"""Recordings that take wall time, run beside the test session instead of inside a fixture.

A lake recorded from the local exchange in real time costs its seconds whatever the machine
does. ``tests/conftest.py`` starts each one listed in its ``RECORDED_IN_BACKGROUND`` when the
session starts (before collection, about 12 s of imports for the whole suite), cancels those no
collected test uses, and its fixture waits only for what is left. A recording is a module run as
``python -m MODULE DATA_DIR`` that records into ``DATA_DIR`` and prints what the fixture returns
besides the directory, as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


class RecordingInBackground:
    """``python -m MODULE DATA_DIR`` running beside the test session."""

    def __init__(self, module: str, data_dir: Path) -> None:
        self.module = module
        self.data_dir = data_dir
        self._value: Any = None
        self._done = False
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module, str(data_dir)],
            cwd=REPO,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self, timeout_s: float = 120.0) -> tuple[Path, Any]:
        """Wait for the recording to end; ``(data dir, what it printed)`` (the test fails if it failed)."""
        if not self._done:
            out, err = self._proc.communicate(timeout=timeout_s)
            if self._proc.returncode != 0:
                pytest.fail(f"{self.module} failed (exit {self._proc.returncode}):\n{err}")
            self._value, self._done = json.loads(out), True
        return self.data_dir, self._value

    def cancel(self) -> None:
        """Stop a recording no test will read."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
