"""Load a data window for train/evaluate from the lake or PostgreSQL."""

from __future__ import annotations

from kalshi_rl.config import Settings
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.data.replay.lake import ReplayData, lake_time_range, preload_lake


def load_window(
    settings: Settings, markets: tuple[str, ...], start_ns: int | None, end_ns: int | None, source: str
) -> ReplayData:
    if source == "postgres":
        from kalshi_rl.data.replay.postgres import preload_postgres

        if not settings.database_url_value:
            raise ConfigError("--source postgres needs DATABASE_URL (or --database-url)")
        return preload_postgres(settings.database_url_value, markets, start_ns, end_ns)
    if source != "lake":
        raise ConfigError(f"unknown --source {source!r} (expected lake or postgres)")
    if start_ns is None or end_ns is None:
        low, high = lake_time_range(settings.lake_dir, markets)
        start_ns = low if start_ns is None else start_ns
        end_ns = high if end_ns is None else end_ns
    return preload_lake(settings.lake_dir, markets, start_ns, end_ns)
