"""``kalshi-rl serve``: the /rl/* API and WebSocket streams, with uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kalshi_rl.cli.collect import _rest_from_ws, credentials_for
from kalshi_rl.cli.common import console, json_logs, load_settings, setup_logging, user_errors


@user_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, min=0, max=65535, help="TCP port."),
    market: list[str] = typer.Option(
        None, "--market", "-m", help="Market(s) to stream and trade; default RL_MARKET_TICKER."
    ),
    series: list[str] = typer.Option(
        None,
        "--series",
        help="Series to follow (repeat for several): every market of it is streamed as Kalshi "
        "creates it, and the actor can trade it market after market.",
    ),
    ws_url: str = typer.Option(None, help="Kalshi (or sim) WebSocket URL; default KALSHI_WS_URL."),
    rest_url: str = typer.Option(None, help="REST URL; default KALSHI_REST_URL or derived from --ws-url."),
    data_dir: Path = typer.Option(None, help="Data directory (lake, SQLite registry)."),
    models_dir: Path = typer.Option(
        None, help="Where trained checkpoints go; default MODELS_DIR or ./models."
    ),
    database_url: str = typer.Option(
        None, help="Registry/orderbook database; default DATABASE_URL, else SQLite."
    ),
    cors_origin: list[str] = typer.Option(
        None, "--cors-origin", help="Allowed browser origin (repeat); default RL_CORS_ORIGINS."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Serve the /rl/* API (models, episodes, training, paper actor) and /rl/ws/* streams."""
    import uvicorn

    from kalshi_rl.api.app import create_app
    from kalshi_rl.api.health import ReadinessLimits
    from kalshi_rl.api.service import ServiceConfig

    setup_logging(verbose)
    settings = load_settings(
        rl_market_ticker=tuple(market) if market else None,
        kalshi_ws_url=ws_url,
        kalshi_rest_url=rest_url or (_rest_from_ws(ws_url) if ws_url else None),
        data_dir=data_dir,
        models_dir=models_dir,
        database_url=database_url,
        rl_cors_origins=tuple(cors_origin) if cors_origin else None,
    )
    followed = settings.rl_market_ticker or series
    credentials = credentials_for(settings, settings.kalshi_ws_url) if followed else None
    config = ServiceConfig(
        data_dir=settings.data_dir,
        models_dir=settings.models_dir,
        markets=settings.rl_market_ticker,
        series=tuple(series or ()),
        ws_url=settings.kalshi_ws_url,
        rest_url=settings.kalshi_rest_url,
        database_url=settings.database_url_value,
        api_token=settings.rl_api_token.get_secret_value() if settings.rl_api_token else None,
        cors_origins=settings.rl_cors_origins,
        credentials=credentials,
        ready=ReadinessLimits(
            max_feed_silence_s=settings.rl_ready_max_feed_silence_s,
            max_backlog_rows=settings.rl_ready_max_backlog_rows,
        ),
    )
    if host not in ("127.0.0.1", "localhost", "::1") and not config.api_token:
        console.print(
            "[yellow]warning:[/] binding beyond loopback without RL_API_TOKEN: anyone who can reach it can trade"
        )
    console.print(
        f"kalshi-rl service on http://{host}:{port}/rl/status (health: /rl/health, /rl/ready; OpenAPI: /rl/openapi.json)"
    )
    # JSON lines: no logging config of uvicorn's own, so its lines reach ours (format, redaction).
    extra: dict[str, Any] = {"log_config": None} if json_logs() else {}
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level="debug" if verbose else "info",
        access_log=verbose,
        **extra,
    )
