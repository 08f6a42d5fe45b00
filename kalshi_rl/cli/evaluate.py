"""``kalshi-rl evaluate``: a model vs hold, random and a momentum rule on a held-out window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from kalshi_rl.cli.common import (
    Col,
    FitTable,
    console,
    load_settings,
    parse_time,
    print_json,
    setup_logging,
    user_errors,
)
from kalshi_rl.core.errors import ConfigError


@user_errors
def evaluate_command(
    model: str = typer.Option(..., "--model", help="Model ID, NAME or NAME@VERSION."),
    start: str = typer.Option(None, help="Held-out window start (ISO 8601); default: the lake's first data."),
    end: str = typer.Option(None, help="Held-out window end; default: the lake's last data."),
    market: list[str] = typer.Option(None, "--market", "-m", help="Market(s); default: the model's."),
    series: str | None = typer.Option(
        None,
        "--series",
        help="Every market of this series with books in the window; default for a series model: its series.",
    ),
    seed: int = typer.Option(0, help="Seed for the random baseline and the fills."),
    source: str = typer.Option("lake", help="lake or postgres."),
    store: bool = typer.Option(True, help="Store the metrics in models.performance_summary."),
    fee_schedule: str | None = typer.Option(
        None,
        help="Override the model's fees: 'market' (each market's own schedule) or TYPE[:MULTIPLIER] "
        "for every market, e.g. quadratic:0 (default: the fee policy the model was trained under).",
    ),
    flat_fee: str | None = typer.Option(
        None, help="Override the dollars per contract charged on flat-fee markets (default: the model's)."
    ),
    member_precision: str | None = typer.Option(
        None, help="Override the balance precision, 0.01 or 0.0001 dollars (default: the model's)."
    ),
    data_dir: Path = typer.Option(None, help="Data directory; default DATA_DIR or ./data."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    png: Path = typer.Option(None, "--png", help="Also draw the equity curves per policy in this PNG."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run a model deterministically on a window next to baselines; print P&L, Sharpe, drawdown, ...

    For a NAME trained with `train --seeds N` (or --walk-forward K), every version of its newest
    run is evaluated together -- walk-forward versions each on the window after their own --
    next to hold, random, momentum and the oracle: per seed and window, then the IQM of the
    P&L with its bootstrap 95 % interval, the probability of beating each baseline and the share
    of the oracle's P&L.
    """
    from kalshi_rl.agents.evaluation import evaluate, load_model_policy, model_env_config
    from kalshi_rl.agents.runs import held_out_window, run_versions
    from kalshi_rl.cli.windows import load_window
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.storage.database import open_database
    from kalshi_rl.environments.kalshi_env import build_tapes

    setup_logging(quiet=json_out)
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    registry = ModelRegistry(open_database(settings.database_url_value, settings.data_dir))
    versions = run_versions(registry, model)
    record = versions[-1]
    config = model_env_config(record)
    if (fee_schedule, flat_fee, member_precision) != (None, None, None):  # an ablation of the fees
        fees = config.fill.fees.with_options(fee_schedule, flat_fee, member_precision)
        config = replace(config, fill=replace(config.fill, fees=fees))
    if not market and not series:  # the model's own: its series, or the markets it was trained on
        series = config.series
    markets = tuple(market or ()) if market or series else tuple(record.market_ticker.split(","))
    if png is not None and len(versions) == 1 and held_out_window(record) is None:
        raise ConfigError("--png draws a run's comparison: train it with --seeds N or --walk-forward K")
    if len(versions) > 1 or held_out_window(record) is not None:
        from kalshi_rl.cli.run_evaluation import evaluate_run

        evaluate_run(
            registry, versions, config, (settings, markets, series, source),
            (parse_time(start, "start"), parse_time(end, "end")), seed, store, png, json_out,
        )  # fmt: skip
        return
    policy = load_model_policy(record)
    data = load_window(settings, markets, parse_time(start, "start"), parse_time(end, "end"), source, series)
    markets = data.markets
    tapes = build_tapes(data, config)
    results = evaluate(policy, tapes, config, seed)
    window = data.describe()
    summary: dict[str, object] = {
        "window": window,
        "fees": config.fill.fees.to_dict(),
        "results": [m.to_dict() for m in results],
        "beats_baselines": all(results[0].total_pnl > m.total_pnl for m in results[1:]),
    }
    if store:
        registry.update(record.id, performance_summary=summary)
    if json_out:
        print_json({"model": record.label, "model_id": str(record.id), **summary})
        return
    where = f"series {series} ({len(markets)} markets)" if series else ", ".join(markets)
    title = f"{record.label} on {where} {window['start']} .. {window['end']}"
    caption = (
        f"{len(tapes)} segment(s), {results[0].steps:,} ticks of {config.tick_ms} ms; data {data.fingerprint}"
    )
    console.print(metrics_table(title, [m.to_dict() for m in results], caption))


def metrics_table(title: str, results: Sequence[Mapping[str, Any]], caption: str | None = None) -> FitTable:
    """The evaluation metrics (``Metrics.to_dict()``) of a policy and its baselines, one row each."""
    table = FitTable(
        "policy",
        *(
            Col(header, numeric=True)
            for header in ("P&L $", "Sharpe/h", "max DD $", "win rate", "contracts", "fees $", "trades")
        ),
        title=title,
        caption=caption,
    )
    for m in results:
        table.add_row(
            str(m["policy"]),
            f"{m['total_pnl']:,.2f}",
            f"{m['sharpe']:,.2f}",
            f"{m['max_drawdown']:,.2f}",
            f"{m['win_rate']:.0%}",
            f"{m['turnover']:,.0f}",
            f"{m['fees']:,.2f}",
            f"{m['trades']:,}",
        )
    return table
