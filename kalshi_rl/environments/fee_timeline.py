"""``FeeTimeline``: the fee model in force on one market at each moment of a replay.

A market's fee schedule can change while it trades (an event's ``event_fee_update`` sets or
clears an override of its series' schedule); a tape carries the changes, and the env charges
each fill the model in force when the fill executes. The ``FeePolicy`` decides whether that is
the market's own schedule or one fixed schedule for every market (ablations).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from kalshi_rl.core.fee_schedule import FeeSchedule
from kalshi_rl.environments.tape import Tape
from kalshi_rl.execution.fees import FeeModel, FeePolicy


class FeeTimeline:
    """Fee models of one market by time; built once per tape, looked up on every fill."""

    __slots__ = ("_models", "_times")

    def __init__(self, changes: Sequence[tuple[int, FeeSchedule]], policy: FeePolicy, market: str) -> None:
        """Resolve every schedule through ``policy``; raise ``FeeScheduleError`` naming ``market``
        if one of them has no fee formula and the policy sets no per-contract fee."""
        if not changes:
            raise ValueError(f"market {market}: a fee timeline needs at least one schedule")
        models = [policy.model_for(schedule, market) for _, schedule in changes]
        if all(model == models[0] for model in models):  # the common case: one lookup-free model
            models, changes = models[:1], changes[:1]
        self._times = [at_ns for at_ns, _ in changes]
        self._models = models

    def at(self, ts_ns: int) -> FeeModel:
        """The model in force at ``ts_ns`` (the first one before the first change)."""
        models = self._models
        if len(models) == 1:
            return models[0]
        return models[max(bisect_right(self._times, ts_ns) - 1, 0)]


def fee_schedules_seen(tapes: Sequence[Tape], policy: FeePolicy) -> list[dict[str, object]]:
    """The schedules charged on ``tapes`` under ``policy``: per market, each one and since when."""
    seen: dict[tuple[str, FeeSchedule], int] = {}
    for tape in tapes:
        for at_ns, schedule in tape.fees:
            key = (tape.market_ticker, policy.schedule_for(schedule))
            seen[key] = min(at_ns, seen.get(key, at_ns))
    return [
        {"market": market, "from_ns": at_ns, **schedule.to_dict()}
        for (market, schedule), at_ns in sorted(seen.items(), key=lambda item: (item[0][0], item[1]))
    ]
