"""Walk-forward windows: train on window k, evaluate on window k + 1, for k = 1..K.

A span ``[start, end]`` (ns, both included, as the lake loads windows) is cut into ``K + 1``
consecutive windows of equal length. Fold ``k`` trains on window ``k`` and is evaluated on the
next one, which it has never seen: window ``k``'s last nanosecond is one before window
``k + 1``'s first, so no tick (and no observation) belongs to both. The test window of fold ``k``
is the training window of fold ``k + 1``: each model is judged on the stretch right after its
own, as it would be when deployed, and every window but the first is a test once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kalshi_rl.core.errors import ConfigError


def iso(ns: int) -> str:
    """``ns`` as an ISO 8601 UTC time with its milliseconds."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Window:
    """``[start_ns, end_ns]``, both included."""

    start_ns: int
    end_ns: int

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns + 1

    def to_dict(self) -> dict[str, object]:
        return {
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "start": iso(self.start_ns),
            "end": iso(self.end_ns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Window:
        return cls(int(str(data["start_ns"])), int(str(data["end_ns"])))


@dataclass(frozen=True)
class Fold:
    """Fold ``index`` (0-based): train on ``train``, evaluate on ``test`` (the next window)."""

    index: int
    train: Window
    test: Window


def split_windows(start_ns: int, end_ns: int, count: int) -> list[Window]:
    """Cut ``[start_ns, end_ns]`` into ``count`` consecutive windows of (nearly) equal length."""
    if count < 1:
        raise ConfigError(f"cannot cut a span into {count} windows")
    span = end_ns - start_ns + 1
    if span < count:
        raise ConfigError(f"a span of {span} ns cannot hold {count} windows")
    bounds = [start_ns + span * i // count for i in range(count + 1)]
    return [Window(bounds[i], bounds[i + 1] - 1) for i in range(count)]


def walk_forward_folds(start_ns: int, end_ns: int, folds: int, min_window_ns: int = 1) -> list[Fold]:
    """The ``folds`` folds of ``[start_ns, end_ns]``; refuse windows shorter than ``min_window_ns``
    (e.g. the shortest episode the env accepts) before anything is trained."""
    if folds < 1:
        raise ConfigError(f"--walk-forward needs at least 1 fold, got {folds}")
    windows = split_windows(start_ns, end_ns, folds + 1)
    shortest = min(w.duration_ns for w in windows)
    if shortest < min_window_ns:
        raise ConfigError(
            f"--walk-forward {folds} cuts {iso(start_ns)} .. {iso(end_ns)} into {folds + 1} windows of "
            f"{shortest / 1e9:g} s; each needs at least {min_window_ns / 1e9:g} s "
            f"(fewer folds or a longer span)"
        )
    return [Fold(k, windows[k], windows[k + 1]) for k in range(folds)]
