"""What the registry records of a paper-trading episode: its opening, the day's loss that a
restart carries over, and the final position it closes with."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.execution.position import MICRO_PER_DOLLAR, PositionLedger
from kalshi_rl.trading.model_source import LoadedModel
from kalshi_rl.trading.risk import RiskGuard, utc_day_start


async def carry_day_loss(registry: ModelRegistry, guard: RiskGuard, now_ns: int) -> None:
    """Count the paper episodes finished earlier this UTC day against ``guard``'s day-loss limit
    (a restart does not reset the day's loss); nothing without such a limit."""
    if guard.limits.max_loss_day is None:
        return
    earlier = await asyncio.to_thread(registry.paper_pnl_since, utc_day_start(now_ns))
    guard.carry_day(now_ns, earlier * MICRO_PER_DOLLAR)


async def open_episode(registry: ModelRegistry, model: LoadedModel, market_ticker: str) -> uuid.UUID:
    """Open the paper episode of ``model`` trading ``market_ticker``; its id."""
    contract = model.record.training_config.get("contract", {})
    return await asyncio.to_thread(
        registry.start_episode,
        model.record.id,
        market_ticker,
        "paper",
        {"model": model.label, "contract": contract.get("observation_fingerprint")},
    )


def final_position(ledger: PositionLedger) -> dict[str, Any]:
    """The position an episode closes with (dollars, as the registry stores them)."""
    return {
        "position_units": ledger.position_units,
        "realized_pnl": ledger.realized_micro / MICRO_PER_DOLLAR,
        "fees": ledger.fees_micro / MICRO_PER_DOLLAR,
    }
