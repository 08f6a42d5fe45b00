"""The ``kalshi-rl`` command line: one Typer app, one module per subcommand."""

from __future__ import annotations

import typer

from kalshi_rl.cli import (
    collect,
    common,
    db,
    demo,
    evaluate,
    import_capture,
    inspect,
    lake,
    paper,
    serve,
    sim,
    train,
    tune,
)
from kalshi_rl.cli.common import fail
from kalshi_rl.cli.help_format import fold_help_cells
from kalshi_rl.cli.log_format import FORMATS

fold_help_cells()  # --help folds what a narrow terminal cannot fit instead of cutting it

app = typer.Typer(
    name="kalshi-rl",
    help="Record Kalshi orderbooks exactly, train RL agents on them, paper-trade the agents.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def options(
    log_format: str = typer.Option(
        "text",
        "--log-format",
        envvar="LOG_FORMAT",
        help="Log lines as 'text' or 'json' (one object per line on stderr).",
    ),
) -> None:
    # Options of every command (before its name): how log lines look.
    value = log_format.strip().lower()
    if value not in FORMATS:
        raise fail(f"--log-format (LOG_FORMAT) must be one of {', '.join(FORMATS)}, got {log_format!r}")
    common.LOG_FORMAT = value


app.command("collect")(collect.collect)
app.command("sim")(sim.sim)
app.command("train")(train.train)
app.command("tune")(tune.tune)
app.command("evaluate")(evaluate.evaluate_command)
app.command("paper")(paper.paper)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("import-capture")(import_capture.import_capture_command)
app.add_typer(inspect.app, name="inspect")
app.add_typer(db.app, name="db")
app.add_typer(lake.app, name="lake")


def main() -> None:
    app()
