"""The exchange's timetable: ``ScheduleConfig``'s changes as actions due at exchange times.

Actions are popped in time order (ties in the order they were scheduled). Periodic ones
schedule their next occurrence when they fire; a pause schedules its own end. The actions
themselves are carried out by ``LifecycleDriver``.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Literal, NamedTuple

from kalshi_rl.sim.config import ScheduleConfig

ActionKind = Literal[
    "pause",
    "resume",
    "fee_update",
    "close_date_update",
    "price_grid_update",
    "metadata_update",
    "encoding_switch",
    "create_event",
]


class ScheduledAction(NamedTuple):
    """One action due at ``due_ms``; ``target`` names the market a ``resume`` ends the pause of."""

    due_ms: int
    kind: ActionKind
    target: str | None = None


class Schedule:
    """The pending actions of one exchange, ordered by due time."""

    def __init__(self, config: ScheduleConfig, start_ms: int) -> None:
        self.config = config
        self._heap: list[tuple[int, int, ScheduledAction]] = []
        self._order = itertools.count()
        at_times: list[tuple[tuple[float, ...], ActionKind]] = [
            (config.close_date_update_at_s, "close_date_update"),
            (config.price_grid_update_at_s, "price_grid_update"),
            (config.metadata_update_at_s, "metadata_update"),
            (config.encoding_switch_at_s, "encoding_switch"),
            (config.create_event_at_s, "create_event"),
        ]
        for times, kind in at_times:
            for at_s in times:
                self.push(start_ms + int(at_s * 1000), kind)
        if config.pause_every_s:
            self.push(start_ms + int(config.pause_every_s * 1000), "pause")
        if config.fee_update_every_s:
            self.push(start_ms + int(config.fee_update_every_s * 1000), "fee_update")

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due_ms: int, kind: ActionKind, target: str | None = None) -> None:
        """Schedule ``kind`` at ``due_ms``."""
        heapq.heappush(self._heap, (due_ms, next(self._order), ScheduledAction(due_ms, kind, target)))

    def next_due_ms(self) -> int | None:
        """Return when the next action is due (``None`` when nothing is scheduled)."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ms: int) -> ScheduledAction | None:
        """Remove and return the earliest action due at or before ``now_ms``."""
        if not self._heap or self._heap[0][0] > now_ms:
            return None
        action = heapq.heappop(self._heap)[2]
        self._follow_up(action)
        return action

    def _follow_up(self, action: ScheduledAction) -> None:
        """Schedule the next occurrence of a periodic action (from when it was due, not run)."""
        cfg = self.config
        if action.kind == "pause":
            self.push(action.due_ms + int(cfg.pause_every_s * 1000), "pause")
        elif action.kind == "fee_update":
            self.push(action.due_ms + int(cfg.fee_update_every_s * 1000), "fee_update")
