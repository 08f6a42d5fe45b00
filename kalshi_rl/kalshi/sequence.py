"""Sequence tracking per subscription id (Kalshi's ``seq`` counts per sid, across markets)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SeqVerdict(Enum):
    IN_ORDER = "in_order"
    GAP = "gap"  # messages were lost: every book of the sid is now unknown
    STALE = "stale"  # seq at or before the last one: a duplicate or a reordering
    RESNAPSHOT = "resnapshot"  # a snapshot that does not advance the sequence (get_snapshot)


@dataclass(frozen=True, slots=True)
class SeqCheck:
    verdict: SeqVerdict
    expected: int | None
    got: int


class SequenceTracker:
    """Remember the last seq of each sid and judge each new one."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def advance(self, sid: int, seq: int) -> bool:
        """Fast path: record ``seq`` and return True if it is the next one on ``sid``."""
        last = self._last.get(sid)
        if last is not None and seq == last + 1:
            self._last[sid] = seq
            return True
        return False

    def observe(self, sid: int, seq: int, is_snapshot: bool = False) -> SeqCheck:
        """Record ``seq`` on ``sid`` and return how it relates to the previous one.

        The first seq seen on a sid is the baseline. A gap also moves the baseline, so one
        lost message is reported once.
        """
        last = self._last.get(sid)
        if last is None or seq == last + 1:
            self._last[sid] = seq
            return SeqCheck(SeqVerdict.IN_ORDER, None if last is None else last + 1, seq)
        if seq <= last:
            verdict = SeqVerdict.RESNAPSHOT if is_snapshot else SeqVerdict.STALE
            return SeqCheck(verdict, last + 1, seq)
        self._last[sid] = seq
        return SeqCheck(SeqVerdict.GAP, last + 1, seq)

    def last(self, sid: int) -> int | None:
        return self._last.get(sid)

    def forget(self, sid: int) -> None:
        self._last.pop(sid, None)

    def clear(self) -> None:
        self._last.clear()
