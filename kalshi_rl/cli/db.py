"""``kalshi-rl db``: create and migrate the relational schema."""

from __future__ import annotations

from pathlib import Path

import typer

from kalshi_rl.cli.common import console, load_settings, print_json, user_errors
from kalshi_rl.data.storage.database import (
    check_connection,
    create_db_engine,
    parse_database_url,
    redact,
    sqlite_url,
)
from kalshi_rl.data.storage.migrate import upgrade

app = typer.Typer(help="Create and migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
@user_errors
def db_upgrade(
    database_url: str = typer.Option(
        None, help="Database URL; default DATABASE_URL, else the embedded SQLite file."
    ),
    data_dir: Path = typer.Option(None, help="Data directory for the embedded SQLite file."),
    revision: str = typer.Option("head", help="Target Alembic revision."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create or migrate every table (PostgreSQL when DATABASE_URL is set, else SQLite)."""
    settings = load_settings(database_url=database_url, data_dir=data_dir)
    url = (
        parse_database_url(settings.database_url_value)
        if settings.database_url_value
        else sqlite_url(settings.data_dir)
    )
    engine = create_db_engine(url)
    check_connection(engine)
    current = upgrade(engine, revision)
    if json_out:
        print_json({"database": redact(url), "revision": current})
    else:
        console.print(f"{redact(url)} is at revision {current}")
