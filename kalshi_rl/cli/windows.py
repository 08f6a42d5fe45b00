"""Load a data window for train/evaluate from the lake or PostgreSQL."""

from __future__ import annotations

from kalshi_rl.config import Settings
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.replay.lake import ReplayData, lake_time_range, preload_lake
from kalshi_rl.data.replay.series import series_markets


def load_window(
    settings: Settings,
    markets: tuple[str, ...],
    start_ns: int | None,
    end_ns: int | None,
    source: str,
    series: str | None = None,
) -> ReplayData:
    """The window's segments of ``markets``, or of every market of ``series`` with books in it.

    A series is resolved from the lake's ``markets`` table whatever the source (PostgreSQL keeps
    no market metadata: see ``data.replay.series``).
    """
    if source not in ("lake", "postgres"):
        raise ConfigError(f"unknown --source {source!r} (expected lake or postgres)")
    if series is not None:
        if markets:
            raise ConfigError("give --series or --market, not both")
        markets = series_markets(settings.lake_dir, series, start_ns, end_ns)
    if source == "postgres":
        from kalshi_rl.data.replay.postgres import preload_postgres

        if not settings.database_url_value:
            raise ConfigError("--source postgres needs DATABASE_URL (or --database-url)")
        data = preload_postgres(settings.database_url_value, markets, start_ns, end_ns)
    else:
        if start_ns is None or end_ns is None:
            low, high = lake_time_range(settings.lake_dir, markets)
            start_ns = low if start_ns is None else start_ns
            end_ns = high if end_ns is None else end_ns
        data = preload_lake(settings.lake_dir, markets, start_ns, end_ns)
    data.series = series
    return data
