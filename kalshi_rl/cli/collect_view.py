"""What ``kalshi-rl collect`` prints: the live view of a running collector and the final summary.

Both stay readable with hundreds of markets: the live view shows totals, the most active
markets and every market with a problem, as many rows as the terminal has lines; the final
summary lists every market when there are few, else the totals and the markets with problems
(``--json`` has every market). Nothing is ever cut: the tables are ``FitTable``s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from kalshi_rl.cli.tables import Col, FitTable, Packed
from kalshi_rl.core.units import format_price
from kalshi_rl.data.ingest.collector import CollectorSummary
from kalshi_rl.data.ingest.collector_view import CollectorView, MarketRow, SeriesRow, SinkRow
from kalshi_rl.data.ingest.market_stats import FinishedMarket

MOST_ACTIVE = 10
"""Most active markets the live view shows when the terminal has the lines for them."""
MIN_ACTIVE = 3
SUMMARY_ALL_MARKETS = 30
"""Up to this many markets the final summary has a row for each; above, totals and problems."""


class LiveCollectView:
    """The live view of one ``CollectorView``, fitted to the terminal's width and height."""

    def __init__(self, view: CollectorView) -> None:
        self.view = view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view = self.view
        # One line short of the terminal: rich's Live crops a taller view with an ellipsis.
        height = max(10, (options.height or options.size.height) - 1)
        active, problems = min(MOST_ACTIVE, len(view.most_active)), len(view.problems)
        while True:
            group = self._group(active, problems)
            if len(console.render_lines(group, options, pad=False)) <= height:
                break
            if active > MIN_ACTIVE:
                active -= 1
            elif problems > 1:
                problems -= 1
            elif active > 1:
                active -= 1
            else:
                break
        yield group

    def _group(self, active: int, problems: int) -> Group:
        view, totals = self.view, self.view.totals
        parts: list[RenderableType] = [
            Text.from_markup(
                f"[bold]kalshi-rl collect[/] — session {view.session_id} — {_duration(view.elapsed_s)}"
            ),
            Packed(
                [
                    f"{totals.markets:,} markets ({totals.trading:,} trading)",
                    f"{totals.finished:,} finished",
                    f"{totals.msgs_per_s:,.0f} msgs/s",
                    f"{totals.frames:,} frames",
                    f"{totals.deltas:,} deltas",
                    f"{totals.gaps:,} gaps",
                    f"{totals.resyncs:,} resyncs",
                    f"{totals.quarantined:,} quarantined",
                    f"{totals.reconnects:,} reconnects",
                    f"queue {totals.queue_depth:,}",
                ]
            ),
            Packed([_sink(s) for s in view.sinks] or ["none"], "sinks: "),
        ]
        if view.series:
            parts.append(Packed([_series(s) for s in view.series], "series: "))
        if view.discovery:
            parts.append(Text(f"discovery: {view.discovery}"))
        if view.most_active:
            parts.append(_active_table(view.most_active[:active], len(view.markets)))
        if view.problems:
            parts.append(_problems_table(view.problems[:problems], len(view.problems)))
            hidden = len(view.problems) - problems
            if hidden:
                parts.append(
                    Text(
                        f"+{hidden:,} more markets with problems (the final summary and --json list them)",
                        style="red",
                    )
                )
        return Group(*parts)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _price(ticks: int | None) -> str:
    return "-" if ticks is None else format_price(ticks)


def _sink(s: SinkRow) -> str:
    if s.healthy:
        return f"{s.name} {s.rows_written:,} rows"
    return f"{s.name} {s.rows_written:,} rows [red]DOWN ({s.last_error}), backlog {s.backlog_rows:,} rows[/]"


def _series(row: SeriesRow) -> str:
    return f"{row.series} {row.markets:,} markets, {row.finished:,} finished ({row.note})"


def _active_table(rows: Sequence[MarketRow], total: int) -> FitTable:
    # Few columns, so a long ticker still fits 80 columns (gaps/resyncs: totals and problems).
    table = FitTable(
        "market",
        Col("YES bid", numeric=True),
        Col("YES ask", numeric=True),
        Col("msgs/s", numeric=True),
        Col("gaps", numeric=True),
        "state",
        title=f"most active {len(rows)} of {total:,} markets",
    )
    for r in rows:
        table.add_row(
            r.ticker,
            _price(r.yes_bid),
            _price(r.yes_ask),
            f"{r.msgs_per_s:,.0f}",
            f"{r.gaps:,}",
            f"[red]{r.state}[/]" if r.state in ("stale", "unsubscribable") else r.state,
        )
    return table


def _problems_table(rows: Sequence[MarketRow], total: int) -> FitTable:
    shown = f"{total:,}" if len(rows) == total else f"{len(rows):,} of {total:,}"
    table = FitTable("market", "phase", "problems", title=f"markets with problems: {shown}")
    for r in rows:
        table.add_row(r.ticker, r.phase, Text("; ".join(r.problems), style="red"))
    return table


# -- the final summary ---------------------------------------------------------------------


_OPTIONAL = (("stale_skipped", "stale"), ("quarantined", "quarantined"), ("sampled_out", "sampled out"))
"""Counters shown only when some market has one (they are zero in a healthy session)."""


class _Counted(Protocol):
    """What the summary reads of a market: a ``MarketStats`` or a ``FinishedMarket``."""

    @property
    def phase(self) -> str: ...
    @property
    def unsubscribable(self) -> str: ...
    @property
    def gaps(self) -> int: ...
    @property
    def quarantined(self) -> int: ...


_COUNTS = ("snapshots", "deltas", "trades", "gaps", "resyncs")
_OPTIONAL = (("stale_skipped", "stale"), ("quarantined", "quarantined"), ("sampled_out", "sampled out"))
"""Counters shown only when some market has one (they are zero in a healthy session)."""


def summary_view(
    summary: CollectorSummary, finished: Mapping[str, FinishedMarket] | None = None
) -> RenderableType:
    """The final summary: per market (or the markets with problems and the sum when there are
    many), the markets recorded to settlement and released (``finished``) included; sinks, refusals."""
    markets: dict[str, _Counted] = {**(finished or {}), **summary.markets}
    optional = [
        (name, header) for name, header in _OPTIONAL if any(getattr(s, name) for s in markets.values())
    ]
    problems = {m: s for m, s in markets.items() if s.unsubscribable or s.gaps or s.quarantined}
    listed = markets if len(markets) <= SUMMARY_ALL_MARKETS else problems
    title = f"collected for {summary.duration_s:,.1f} s — {summary.frames:,} frames"
    if finished:
        title += f" — {len(finished):,} markets finished"
    if listed is not markets:
        title += (
            f" — {len(markets):,} markets: the {len(problems):,} with problems, then all summed"
            " (--json: every market)"
        )
    names = [*_COUNTS, *(name for name, _ in optional)]
    table = FitTable(
        "market",
        *(Col(h, numeric=True) for h in _COUNTS),
        *(Col(header, numeric=True) for _, header in optional),
        Col("phase", wrap=False),
        title=title,
    )
    for market, s in listed.items():
        table.add_row(market, *(f"{getattr(s, n):,}" for n in names), _phase(s))
    if len(markets) > 1:
        sums = (sum(getattr(s, n) for s in markets.values()) for n in names)
        table.add_row(f"[bold]all {len(markets):,}[/]", *(f"{v:,}" for v in sums), "")
    sinks = "; ".join(
        f"{name}: {sum(st.rows_written.values()):,} rows written"
        + ("" if st.healthy else f", [red]NOT written: {st.backlog_rows:,} ({st.last_error})[/]")
        for name, st in summary.sinks.items()
    )
    table.caption = f"{sinks} | reconnects {summary.ws.reconnects} | gaps {summary.ws.gaps}"
    refused = "; ".join(f"{m}: {s.unsubscribable}" for m, s in markets.items() if s.unsubscribable)
    if not refused:
        return table
    return Group(table, Text(f"never subscribed (the exchange refused them): {refused}", style="red"))


def _phase(s: _Counted) -> str:
    if s.unsubscribable:
        return "[red]UNSUBSCRIBABLE[/]"
    result = getattr(s, "result", None)  # a finished market's settlement result
    return f"{s.phase} ({result})" if result else s.phase
