"""What the lake says about each market's life: phase, lifecycle events, fees, refusals.

For ``kalshi-rl inspect data``: the phase is rebuilt from the stored REST answers (``markets``)
and lifecycle frames (``lifecycle``) in the order they were received, with the same rules as
the live status (``data.market_status``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kalshi_rl.data.book.market_status import phase_after, phase_from_rest
from kalshi_rl.data.lake.reader import LakeReader


@dataclass
class MarketSummary:
    """One market's life as recorded."""

    market_ticker: str
    phase: str = "unknown"
    lifecycle: list[tuple[int, str]] = field(default_factory=list)
    """``(ts_recv_ns, event_type)`` of every lifecycle frame, in order."""
    close_time_ms: int | None = None
    open_time_ms: int | None = None
    series_ticker: str | None = None
    fee: str = ""
    """The fee schedule last recorded: ``type x multiplier (source)``."""
    unsubscribable: str = ""

    @property
    def settled_ns(self) -> int | None:
        """When the first ``settled`` lifecycle frame was received, if one was."""
        return next((at for at, kind in self.lifecycle if kind == "settled"), None)


@dataclass(frozen=True)
class EventsSummary:
    """The event-level frames (``events`` table)."""

    by_type: dict[str, int]
    fee_updates: list[tuple[int, str, str | None, str | None]]
    """``(ts_recv_ns, event_ticker, fee_type, fee_multiplier)``; nulls = override cleared."""


def market_summaries(reader: LakeReader) -> dict[str, MarketSummary]:
    """Per market: phase, lifecycle events, open and close times, series, fee schedule,
    subscription refusal."""
    steps: list[tuple[int, int, str, str, object]] = []  # ns, order, market, kind, value
    summaries: dict[str, MarketSummary] = {}
    if "markets" in reader.present:
        columns = reader.columns("markets")
        fees = "fee_type || ' x ' || fee_multiplier || ' (' || fee_source || ')'"
        fee = fees if "fee_type" in columns else "NULL"
        series = "series_ticker" if "series_ticker" in columns else "NULL"
        for market, at_ns, status, open_ms, close_ms, fee_text, series_ticker in reader.query(
            f"SELECT market_ticker, ts_recv_ns, status, open_time_ms, close_time_ms, {fee}, {series} FROM markets"
        ):
            steps.append((at_ns, 0, market, "rest", (status, open_ms, close_ms, fee_text, series_ticker)))
    if "lifecycle" in reader.present:
        flag = "is_deactivated" if "is_deactivated" in reader.columns("lifecycle") else "NULL"
        for market, at_ns, event_type, open_ms, close_ms, paused in reader.query(
            f"SELECT market_ticker, ts_recv_ns, event_type, open_ts_ms, close_ts_ms, {flag} FROM lifecycle"
        ):
            steps.append((at_ns, 1, market, "frame", (event_type, open_ms, close_ms, paused)))
    for at_ns, _, market, kind, value in sorted(steps, key=lambda s: s[:2]):
        summary = summaries.setdefault(market, MarketSummary(market))
        if kind == "rest":
            status, open_ms, close_ms, fee_text, series_ticker = value  # type: ignore[misc]
            summary.phase = phase_from_rest(summary.phase, status or "")
            summary.open_time_ms = open_ms if open_ms is not None else summary.open_time_ms
            summary.close_time_ms = close_ms if close_ms is not None else summary.close_time_ms
            summary.fee = fee_text or summary.fee
            summary.series_ticker = series_ticker or summary.series_ticker
        else:
            event_type, open_ms, close_ms, paused = value  # type: ignore[misc]
            summary.phase = phase_after(summary.phase, event_type, paused)
            summary.lifecycle.append((at_ns, event_type))
            if open_ms is not None and event_type == "created":
                summary.open_time_ms = open_ms
            if close_ms is not None and event_type in ("created", "close_date_updated"):
                summary.close_time_ms = close_ms
    if "book_events" in reader.present:
        for market, detail in reader.query(
            "SELECT market_ticker, arg_max(detail, ts_recv_ns) FROM book_events "
            "WHERE kind = 'unsubscribable' GROUP BY 1"
        ):
            summaries.setdefault(market, MarketSummary(market)).unsubscribable = detail or "refused"
    return dict(sorted(summaries.items()))


def events_summary(reader: LakeReader) -> EventsSummary:
    """Counts of event-level frames by type, and every fee override change."""
    if "events" not in reader.present:
        return EventsSummary({}, [])
    by_type = dict(reader.query("SELECT type, count(*) FROM events GROUP BY 1 ORDER BY 1"))
    updates = reader.query(
        "SELECT ts_recv_ns, event_ticker, fee_type, fee_multiplier FROM events "
        "WHERE type = 'event_fee_update' ORDER BY ts_recv_ns"
    )
    return EventsSummary(by_type, [(int(a), str(b), c, d) for a, b, c, d in updates])
