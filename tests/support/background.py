"""Recordings that take wall time, run beside the test session instead of inside a fixture.

A lake recorded from the local exchange in real time costs its seconds whatever the machine
does. ``tests/conftest.py`` starts each one listed in its ``RECORDED_IN_BACKGROUND`` when the
session starts (``start``: before collection, about 12 s of imports for the whole suite),
cancels those no collected test uses (``cancel_unused``), and the session fixture waits only for
what is left (``recorded``). A recording is a module run as ``python -m MODULE DATA_DIR`` that
records into ``DATA_DIR`` and prints, as JSON, what the fixture returns besides the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
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
            start_new_session=True,  # its own process group: cancel stops what it started too
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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.communicate()


_RECORDINGS = pytest.StashKey[dict[str, RecordingInBackground]]()


def start(config: pytest.Config, modules: dict[str, str]) -> None:
    """Start a recording per session fixture (fixture name -> module), each in its own directory."""
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]  # what tmp_path_factory returns
    config.stash[_RECORDINGS] = {
        fixture: RecordingInBackground(module, factory.mktemp(fixture)) for fixture, module in modules.items()
    }


def cancel_unused(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cancel the recordings that no collected test's fixtures ask for."""
    used = {name for item in items for name in getattr(item, "fixturenames", ())}
    for fixture, recording in config.stash.get(_RECORDINGS, {}).items():
        if fixture not in used:
            recording.cancel()


def cancel_all(config: pytest.Config) -> None:
    for recording in config.stash.get(_RECORDINGS, {}).values():
        recording.cancel()


def recorded(config: pytest.Config, fixture: str, timeout_s: float = 120.0) -> tuple[Path, Any]:
    """What the recording of ``fixture`` made: ``(data dir, what it printed)``; waits for its end."""
    return config.stash[_RECORDINGS][fixture].result(timeout_s)
