"""What every subcommand shares: settings with flag overrides, output, logging, errors."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from kalshi_rl.cli.log_format import JsonFormatter, RedactingFilter, register_private_key, register_secret
from kalshi_rl.cli.tables import Col as Col  # re-exported: every command's tables
from kalshi_rl.cli.tables import FitTable as FitTable
from kalshi_rl.config import Settings
from kalshi_rl.core.errors import KalshiRLError
from kalshi_rl.core.extras import missing_extra
from kalshi_rl.kalshi.hosts import rest_url_for

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def load_settings(**overrides: Any) -> Settings:
    """Return ``Settings`` from the environment with non-``None`` CLI flags on top.

    A WebSocket URL given without a REST URL (flag or environment) brings its own REST base,
    from Kalshi's host table (``kalshi.hosts``): the production default must not be paired
    with a demo or local WebSocket. An undocumented host without a REST URL is refused.
    """
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        # Named as the environment variable (a container is configured by those alone).
        where = ".".join(str(p) for p in first["loc"]).upper() or "settings"
        raise KalshiRLError(f"invalid setting {where}: {first['msg']}") from None
    register_secret(settings.rl_api_token.get_secret_value() if settings.rl_api_token else None)
    if settings.database_url:
        register_secret(urlsplit(settings.database_url.get_secret_value()).password)
    register_private_key(settings.kalshi_private_key_path)
    chosen = settings.model_fields_set
    if "kalshi_ws_url" in chosen and "kalshi_rest_url" not in chosen:
        settings = settings.model_copy(update={"kalshi_rest_url": rest_url_for(settings.kalshi_ws_url)})
    return settings


def parse_time(text: str | None, what: str) -> int | None:
    """Parse an ISO 8601 time (UTC unless it says otherwise) or Unix seconds into ns."""
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        return int(float(text) * 1e9)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise KalshiRLError(
            f"--{what}: expected an ISO 8601 time like 2026-11-25T14:00:00Z, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1e9)


LOG_FORMAT = "text"
"""``--log-format`` (or ``LOG_FORMAT``), set by the app's callback before any command runs."""


def json_logs() -> bool:
    return LOG_FORMAT == "json"


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Log to stderr at INFO (DEBUG with ``verbose``, WARNING when ``quiet``), as text or JSON
    lines (``--log-format``); every line is redacted (``log_format``)."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler: logging.Handler
    if json_logs():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
        handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (for ``--json``)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str) -> typer.Exit:
    """Print one readable line and return the exit to raise (exit code 1)."""
    # Messages are plain text: an option value or a pip extra in [brackets] is not markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn our exceptions into one line and exit code 1 (no traceback for user mistakes)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except KalshiRLError as exc:
            raise fail(str(exc)) from None
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            raise fail(str(extra)) from None

    return wrapper
