"""Per-market counters of a collection session, and the compact record a finished market leaves.

A market being recorded has a ``MarketStats`` (updated on every frame). Once the market has
settled and been unsubscribed, its book, sequence state and stats are released and only a
``FinishedMarket`` remains: its final counts, its result and when it finished, so the session
summary covers every market while memory stays flat over weeks of roll-overs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MarketStats:
    frames: int = 0
    snapshots: int = 0
    deltas: int = 0
    trades: int = 0
    sampled_out: int = 0
    stale_skipped: int = 0
    quarantined: int = 0
    gaps: int = 0
    resyncs: int = 0
    breaks: int = 0
    last_seq: int = 0
    lifecycle: int = 0
    phase: str = "unknown"
    unsubscribable: str = ""
    """Why the exchange refused to subscribe this market (empty: it did not)."""


@dataclass(frozen=True, slots=True)
class FinishedMarket:
    """What is kept of a market recorded to its settlement and then released."""

    ticker: str
    series: str | None
    event: str | None
    phase: str
    result: str | None
    frames: int
    snapshots: int
    deltas: int
    trades: int
    gaps: int
    resyncs: int
    quarantined: int
    stale_skipped: int
    sampled_out: int
    lifecycle: int
    unsubscribable: str
    finished_ns: int
    """When it was released (wall clock, ns)."""

    @classmethod
    def of(
        cls,
        ticker: str,
        stats: MarketStats,
        series: str | None,
        event: str | None,
        result: str | None,
        finished_ns: int,
    ) -> FinishedMarket:
        return cls(
            ticker=ticker,
            series=series,
            event=event,
            phase=stats.phase,
            result=result,
            frames=stats.frames,
            snapshots=stats.snapshots,
            deltas=stats.deltas,
            trades=stats.trades,
            gaps=stats.gaps,
            resyncs=stats.resyncs,
            quarantined=stats.quarantined,
            stale_skipped=stats.stale_skipped,
            sampled_out=stats.sampled_out,
            lifecycle=stats.lifecycle,
            unsubscribable=stats.unsubscribable,
            finished_ns=finished_ns,
        )
