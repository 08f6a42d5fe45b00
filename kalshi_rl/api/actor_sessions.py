"""The paper session ``POST /rl/actor/start`` runs on the service's feed: a market's or a series'.

A body with ``series`` (or none at all, for a model trained on a series) trades that series
market after market (``SeriesSession``); one with ``market_ticker`` (or none, for a market
model: its first market) trades that market (``PaperSession``). The market, or a market of the
series, must be in the feed; a series model is refused outside its series (``check_scope``).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine

from kalshi_rl.api.errors import ApiError
from kalshi_rl.api.models import ActorStart
from kalshi_rl.data.ingest.collector import Collector
from kalshi_rl.data.registry import ModelRecord
from kalshi_rl.trading.risk import RiskLimits
from kalshi_rl.trading.series_session import SeriesSession, SeriesSessionConfig
from kalshi_rl.trading.session import PaperSession, PaperSessionConfig, in_series

ActorSession = PaperSession | SeriesSession


def feed_series(feed: Collector) -> tuple[str, ...]:
    """The series the feed follows (``--series``), if it follows any."""
    return tuple(getattr(feed.config, "series", ()) or ())


def model_reference(requested: str, record: ModelRecord) -> str:
    """What the session loads: a bare model NAME is followed (its newest ready version, hot-reloaded
    as ``paper --model NAME`` does); an id or NAME@VERSION stays pinned to that version."""
    return record.name if requested.strip() == record.name else str(record.id)


def session_for(body: ActorStart, record: ModelRecord, feed: Collector, engine: Engine) -> ActorSession:
    """The session to start for ``body`` with ``record`` on ``feed`` (see the module docstring)."""
    if body.series and body.market_ticker:
        raise ApiError(400, "invalid_request", "give market_ticker or series, not both")
    own_series = record.training_config.get("contract", {}).get("series")
    series = body.series or (None if body.market_ticker else own_series)
    balance = Decimal(str(body.starting_balance))
    risk = RiskLimits(**body.risk_limits())
    if series is not None:
        followed = feed_series(feed)
        if series not in followed and not any(in_series(t, series) for t in feed.books):
            known = ", ".join(followed) or "none"
            raise ApiError(
                400,
                "unknown_series",
                f"series {series} is not in the service's feed (series: {known}; markets: {', '.join(feed.books)})",
            )
        return SeriesSession(
            SeriesSessionConfig(
                model_ref=model_reference(body.model_id, record),
                series=series,
                collector=feed.config,
                starting_balance_dollars=balance,
                seed=body.seed,
                deterministic=not body.stochastic,
                risk=risk,
            ),
            engine,
            feed=feed,
        )
    market = body.market_ticker or record.market_ticker.split(",")[0]
    if market not in feed.books:
        raise ApiError(
            400, "unknown_market", f"market {market} is not in the service's feed ({', '.join(feed.books)})"
        )
    return PaperSession(
        PaperSessionConfig(
            model_ref=model_reference(body.model_id, record),
            market_ticker=market,
            collector=feed.config,
            starting_balance_dollars=balance,
            seed=body.seed,
            deterministic=not body.stochastic,
            risk=risk,
        ),
        engine,
        feed=feed,
    )
