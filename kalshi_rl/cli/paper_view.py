"""What ``kalshi-rl paper`` shows: the session's figures and its recent actions, never cut."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text

from kalshi_rl.cli.tables import Col, FitTable, Packed, clock_ms, dollars, position
from kalshi_rl.core.units import format_price

if TYPE_CHECKING:
    from kalshi_rl.trading.series_session import SeriesSession
    from kalshi_rl.trading.session import PaperSession

RECENT_ACTIONS = 8


def render(session: PaperSession | SeriesSession) -> Group:
    """The live view (and the final one): book, position, P&L, latency, the last actions; for a
    series, each market traded so far and, between two markets, why the session waits."""
    from kalshi_rl.trading.series_session import SeriesSession

    view = _market(session)
    if not isinstance(session, SeriesSession):
        return view or Group(Text(f"kalshi-rl paper — {session.market_ticker}: not in the feed"))
    markets = _series_markets(session)
    return Group(view, markets) if view is not None else markets


def _market(session: PaperSession | SeriesSession) -> Group | None:
    actor, client = session.actor, session.client
    ticker = session.market_ticker
    if ticker is None or ticker not in session.collector.books:
        return None
    book = session.collector.books[ticker].state
    state = "stale" if book.stale else "live"
    if actor is None or client is None or actor.model is None:
        return Group(
            Text.from_markup(f"[bold]kalshi-rl paper[/] — {ticker} — {state}, waiting for the model")
        )
    ledger = client.ledger(ticker)
    latency = actor.metrics.latency_percentiles()
    figures = Packed(
        [
            f"YES bid {_price(book.best_yes_bid)}",
            f"YES ask {_price(book.best_yes_ask)}",
            f"position {position(ledger.position_units)} contracts",
            f"avg cost {dollars(ledger.average_cost_ticks() / 10_000, 4)}",
            f"realized {dollars(ledger.realized_micro / 1e6, 4)}",
            f"fees {dollars(ledger.fees_micro / 1e6, 4)}",
            f"decision p50 {latency['p50_us']:,.0f} µs",
            f"p99 {latency['p99_us']:,.0f} µs",
            f"{actor.metrics.decisions:,} decisions",
            f"{actor.metrics.orders:,} orders",
            f"{actor.metrics.reloads:,} reloads",
        ]
    )
    header = Text.from_markup(f"[bold]kalshi-rl paper[/] — {actor.model.label} on {ticker} — {state}")
    return Group(header, figures, _recent(list(actor.recent)[-RECENT_ACTIONS:]))


def _series_markets(session: SeriesSession) -> Group:
    """The series line (what it trades or waits for) and one row per market traded."""
    summary = session.summary()
    now = (
        "stopped"
        if session.stopped
        else f"trading {session.market_ticker}"
        if session.market_ticker
        else session.waiting or "starting"
    )
    table = FitTable(
        "market",
        "state",
        "result",
        Col("position", numeric=True),
        Col("realized", numeric=True),
        Col("fees", numeric=True),
        Col("decisions", numeric=True),
        title=f"{len(summary['markets'])} market(s) of {session.config.series}",
    )
    for market in summary["markets"]:
        table.add_row(
            market["market_ticker"],
            market["state"],
            market["result"] or "-",
            position(market["position_units"]),
            dollars(market["realized_pnl"], 4),
            dollars(market["fees"], 4),
            f"{market['decisions']:,}",
        )
    header = Text.from_markup(f"[bold]kalshi-rl paper[/] — series {session.config.series} — {now}")
    return Group(header, table)


def _price(ticks: int | None) -> str:
    return format_price(ticks) if ticks else "-"


def _recent(events: list[dict[str, Any]]) -> FitTable:
    table = FitTable(
        "time (UTC)",
        "action",
        Col("contracts", numeric=True),
        Col("price $", numeric=True),
        Col("position", numeric=True),
        Col("confidence", numeric=True),
        title="recent actions",
    )
    for event in events:
        details, state = event["details"], event["state"]
        table.add_row(
            clock_ms(event["timestamp"]),
            event["action"],
            str(details.get("quantity") or "-"),
            str(details.get("price") or "-"),
            position(int(Decimal(str(state["position"])) * 100)),
            f"{event['confidence']:.2f}",
        )
    return table
