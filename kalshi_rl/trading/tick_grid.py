"""``TickGrid``: when the actor's next tick falls due, how it is stamped, which ticks it missed.

The actor decides on the env's grid: ticks at multiples of ``tick_ns`` of wall-clock time,
stamped with that time (the env's ticks run over recorded wall-clock timestamps). But it waits
on the monotonic clock: a wall clock stepped back (by NTP or an operator) must not stall it for
the size of the step, and one stepped forward must not look like a burst of missed ticks. So
the grid keeps the offset between the two clocks, re-reads it before each tick and follows it,
so stamps stay on the wall clock's grid, and reports a change of at least ``step_ns`` as a
clock step (smaller changes, such as NTP slewing, are followed silently).

Every grid tick is either decided or missed: when the actor gets to decide (after a decision
that ran long, or a late wake-up) it takes the latest grid tick that has come, and every tick
between the last one it decided and that one counts as missed. Gaps are measured on the
monotonic clock, so a clock step never counts as missed ticks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from kalshi_rl.trading.actor_config import Clock

logger = logging.getLogger(__name__)

STEP_NS = 5_000_000
"""A change of the wall-minus-monotonic offset this large is a clock step (NTP slews < 0.5 ms/s)."""
_READ_TRIES = 3
_READ_SPREAD_NS = 100_000
"""Both clocks are read between two monotonic reads this close (no thread switch in between)."""


@dataclass(frozen=True)
class Tick:
    """One tick of the grid."""

    wall_ns: int
    """Its stamp: a multiple of the tick on the wall clock."""
    due_ns: int
    """When it falls due, on the monotonic clock."""
    missed: int = 0
    """Grid ticks passed over between the last decided tick and this one."""


class TickGrid:
    """The wall-clock tick grid, scheduled on the monotonic clock; see the module docstring."""

    def __init__(self, clock: Clock, tick_ns: int, step_ns: int = STEP_NS) -> None:
        if tick_ns <= 0:
            raise ValueError(f"tick_ns must be > 0, got {tick_ns}")
        self.clock = clock
        self.tick_ns = tick_ns
        self.step_ns = step_ns
        self.steps = 0
        """Clock steps seen so far."""
        self._now_ns, self._offset_ns = self._read()
        self._last_due_ns: int | None = None

    def upcoming(self) -> Tick:
        """The next tick not yet decided (its ``due_ns`` is in the past when the actor is late)."""
        now = self._sync()
        if self._last_due_ns is None:
            due = self._ceil(now)
        else:  # the grid tick after the last decided one, even if a small step moved the grid
            due = self._ceil(self._last_due_ns + self.tick_ns // 2 + 1)
        return Tick(due + self._offset_ns, due)

    def take(self) -> Tick | None:
        """Decide now: the latest grid tick that has come, recorded as decided; None if none has."""
        now = self._sync()
        due = now - (now + self._offset_ns) % self.tick_ns
        last = self._last_due_ns
        if last is not None and due - last <= self.tick_ns // 2:
            return None  # still the last decided tick (a step moved the grid back): wait again
        missed = 0 if last is None else (due - last + self.tick_ns // 2) // self.tick_ns - 1
        self._last_due_ns = due
        return Tick(due + self._offset_ns, due, missed)

    def _ceil(self, mono_ns: int) -> int:
        return mono_ns + (-(mono_ns + self._offset_ns)) % self.tick_ns

    def _sync(self) -> int:
        """Re-read the clocks' offset (logging a step); return the monotonic time."""
        now, offset = self._read()
        change = offset - self._offset_ns
        if abs(change) >= self.step_ns:
            self.steps += 1
            logger.warning(
                "wall clock stepped by %+.3f s (now %s): ticks follow it, scheduling stays monotonic",
                change / 1e9,
                format_wall_ns(now + offset),
            )
        self._offset_ns = offset
        return now

    def _read(self) -> tuple[int, int]:
        """(monotonic now, wall - monotonic), read with nothing running between the clocks."""
        clock = self.clock
        for _ in range(_READ_TRIES):
            before = clock.monotonic_ns()
            wall = clock.time_ns()
            after = clock.monotonic_ns()
            if after - before <= _READ_SPREAD_NS:
                break
        return after, wall - (before + after) // 2


def format_wall_ns(wall_ns: int) -> str:
    """A wall-clock time in ns as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(wall_ns / 1e9, UTC).isoformat(timespec="milliseconds")
