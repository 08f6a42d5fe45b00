"""``kalshi-rl inspect study``: a tune study's trials and its best; ``--export`` for ``train --config``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Group
from rich.text import Text

from kalshi_rl.cli.common import Col, FitTable, console, load_settings, print_json, user_errors
from kalshi_rl.cli.tables import Fields

if TYPE_CHECKING:
    from kalshi_rl.agents.study_report import StudyReport


def register(app: typer.Typer) -> None:
    """Add the ``study`` command to the ``inspect`` group."""
    app.command("study")(inspect_study)


@user_errors
def inspect_study(
    name: str | None = typer.Argument(None, help="Study name; without it, every study."),
    export: Path = typer.Option(
        None, "--export", help="Write the best trial's hyperparameters here (YAML for `train --config`)."
    ),
    data_dir: Path = typer.Option(None, help="Data directory (for the SQLite registry)."),
    database_url: str = typer.Option(None, help="Registry database; default DATABASE_URL, else SQLite."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A study's trials (state, validation P&L, model, parameters) and its best trial."""
    from kalshi_rl.agents.study_report import export_best, read_study, study_names
    from kalshi_rl.agents.study_storage import StudyStorage

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    storage = StudyStorage(settings.database_url_value, settings.data_dir)
    if name is None:
        names = study_names(storage)
        if json_out:
            print_json(names)
        elif names:
            console.print("\n".join(names), highlight=False)
        else:
            console.print("no studies yet (run `kalshi-rl tune`)")
        return
    report = read_study(storage, name)
    exported = export_best(report, export) if export is not None else None
    if json_out:
        print_json({**report.to_dict(), "exported": str(export) if exported else None})
        return
    console.print(_view(report))
    if exported is not None:
        console.print(f"wrote trial {exported.number}'s hyperparameters to {export}", highlight=False)


def _view(report: StudyReport) -> Group:
    definition = report.definition
    counts = report.counts()
    best = report.best
    fields: list[tuple[str, str | Text]] = [
        ("algorithm", str(definition.get("algo", "-"))),
        ("objective", str(definition.get("objective", "-"))),
        ("trials", ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"),
        (
            "search space",
            f"{len(report.space.get('parameters', {}))} parameters, {definition.get('space_fingerprint')}",
        ),
        ("training", _window(definition.get("train_window"), definition.get("timesteps"))),
        ("validation", _window(definition.get("validation_window"), None)),
        ("data", Text(_data(definition))),
    ]
    if report.baselines:
        fields.append(
            ("baselines", ", ".join(f"{b['policy']} ${b['total_pnl']:,.2f}" for b in report.baselines))
        )
    if best is not None:
        assert best.value is not None
        fields.append(("best", Text(f"trial {best.number} ({best.model}): ${best.value:,.2f}")))
    table = FitTable(
        Col("trial", numeric=True),
        "state",
        Col("P&L $", numeric=True),
        "model",
        "parameters",
        Col("steps", numeric=True),
        title=f"study {report.name}",
        caption="P&L: the validation window's, after fees; steps: timesteps at the last score",
    )
    for trial in report.trials:
        table.add_row(
            str(trial.number),
            trial.state + (" (best)" if best is not None and trial.number == best.number else ""),
            f"{trial.value:,.2f}" if trial.value is not None else "-",
            Text(trial.model or "-"),
            Text(_params(trial.params)),
            f"{trial.last_step:,}" if trial.last_step is not None else "-",
        )
    return Group(Fields(fields), table)


def _window(window: dict[str, Any] | None, timesteps: object) -> str:
    if not window:
        return "-"
    text = f"{window.get('start') or 'first data'} .. {window.get('end') or 'last data'}"
    return f"{text}, {timesteps:,} timesteps per trial" if isinstance(timesteps, int) else text


def _data(definition: dict[str, Any]) -> str:
    if definition.get("series"):
        return f"series {definition['series']}"
    return ", ".join(definition.get("markets", [])) or "-"


def _params(params: dict[str, Any]) -> str:
    """Compact ``name=value`` pairs (floats to 3 significant digits), one space apart."""
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={str(v).replace(' ', '')}"
        for k, v in sorted(params.items())
    )
