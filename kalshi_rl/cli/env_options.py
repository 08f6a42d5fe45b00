"""The env a command trains or tunes in, from the flags ``train`` and ``tune`` share."""

from __future__ import annotations

from kalshi_rl.config import Settings
from kalshi_rl.core.errors import ConfigError
from kalshi_rl.environments.action_space import ActionConfig
from kalshi_rl.environments.contract import EnvConfig
from kalshi_rl.execution.fees import FeePolicy
from kalshi_rl.execution.fill_engine import FillConfig


def env_config(
    settings: Settings,
    tick_ms: int | None,
    episode_ticks: int,
    order_contracts: float,
    position_limit: float,
    latency_ms: float,
    fee_schedule: str,
    flat_fee: str | None,
    member_precision: str,
) -> EnvConfig:
    """The ``EnvConfig`` of the flags (tick default: ``TICK_INTERVAL_SECONDS``), or ConfigError."""
    tick = tick_ms if tick_ms is not None else int(settings.tick_interval_seconds * 1000)
    try:
        return EnvConfig(
            tick_ms=tick,
            episode_ticks=episode_ticks,
            actions=ActionConfig(round(order_contracts * 100), round(position_limit * 100)),
            fill=FillConfig(
                latency_min_ms=latency_ms,
                latency_max_ms=latency_ms,
                fees=FeePolicy.parse(fee_schedule, flat_fee, member_precision),
            ),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
