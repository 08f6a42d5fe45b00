"""``kalshi-rl inspect compare``: the stored evaluations of one or more runs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kalshi_rl.cli.common import console, load_settings, print_json, user_errors
from kalshi_rl.core.errors import DataNotFoundError


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command to the ``inspect`` group."""
    app.command("compare")(inspect_compare)


@user_errors
def inspect_compare(
    models: list[str] = typer.Argument(..., help="Model NAMEs (each: its newest evaluated run)."),
    png: Path = typer.Option(None, "--png", help="Draw the equity curves per policy in this PNG."),
    data_dir: Path = typer.Option(None, help="Data directory (for the SQLite registry)."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """IQM P&L with its 95 % interval, P(beat each baseline) and the share of the oracle, per
    policy, as `evaluate --model NAME` last measured each run (nothing is evaluated again)."""
    from kalshi_rl.agents.runs import run_versions
    from kalshi_rl.cli.run_evaluation import COMPARISON_KEY, draw_equity, summary_table
    from kalshi_rl.data.registry import ModelRegistry
    from kalshi_rl.data.storage.database import open_database

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    registry = ModelRegistry(open_database(settings.database_url_value, settings.data_dir))
    comparisons: list[dict[str, Any]] = []
    for ref in models:
        stored = [
            (v.performance_summary or {}).get(COMPARISON_KEY) for v in reversed(run_versions(registry, ref))
        ]
        found = next((c for c in stored if c), None)
        if found is None:
            raise DataNotFoundError(
                f"{ref} has no stored run evaluation: run `kalshi-rl evaluate --model {ref}` first "
                "(a run trained with --seeds N or --walk-forward K)"
            )
        comparisons.append(found)
    if png is not None:
        draw_equity(comparisons, png)
    if json_out:
        print_json({"runs": [{k: v for k, v in c.items() if k != "scores"} for c in comparisons]})
        return
    console.print(summary_table(comparisons))
    if png is not None:
        console.print(f"equity curves: {png}", highlight=False)
