"""One maintainer at a time: the lake's maintenance lock (``<lake>/_maintenance.lock``).

``lake compact`` and ``lake prune`` rewrite and delete files, so two of them on one lake
would step on each other. Each holds an exclusive ``flock`` on the lock file while it runs;
a second one is refused at once, with who holds it. The kernel releases the lock when its
holder exits, however it exits, so a crash never leaves the lake locked.
Collectors do not take this lock: maintenance leaves the partitions they write alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from kalshi_rl.core.errors import DataNotFoundError, StorageError

__all__ = ["LOCK_FILE", "MaintenanceLock"]

LOCK_FILE = "_maintenance.lock"


class MaintenanceLock:
    """``with MaintenanceLock(root, "lake compact"):`` -- or StorageError if it is held."""

    def __init__(self, root: Path, what: str) -> None:
        self.root = root
        self.what = what
        self._file: IO[str] | None = None

    def __enter__(self) -> MaintenanceLock:
        if not self.root.is_dir():
            raise DataNotFoundError(f"no lake at {self.root} (run `kalshi-rl collect` first)")
        path = self.root / LOCK_FILE
        try:
            file = open(path, "a+")  # held until __exit__
        except OSError as exc:
            raise StorageError(f"cannot open the lake's lock {path}: {exc.strerror}") from None
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            file.close()
            raise StorageError(
                f"the lake at {self.root} is being maintained by {holder}; "
                "one compact or prune at a time: wait for it to finish"
            ) from None
        file.seek(0)
        file.truncate()
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        file.write(f"pid {os.getpid()} (`kalshi-rl {self.what}` since {started})\n")
        file.flush()
        self._file = file
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                file.truncate(0)  # the holder's line must not outlive the lock
            fcntl.flock(file, fcntl.LOCK_UN)
            file.close()
