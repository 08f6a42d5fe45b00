"""Paper episodes, ``trading_actions`` and model rows on both engines, read back exactly.

Each test runs on SQLite and on a fresh migrated PostgreSQL (the ``database`` fixture): UUIDs
come back as ``uuid.UUID``, JSON(B) as the same Python values (unicode, floats to the last bit,
integers past 2**53, nesting), BIGINT millisecond stamps whole, and the registry's timestamps
as UTC-aware datetimes on both.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from kalshi_rl.core.errors import InvalidValueError
from kalshi_rl.data.registry import ModelRegistry
from kalshi_rl.data.sql_queue import ActionWriteQueue
from kalshi_rl.data.storage.schema import trading_actions
from tests.trading.conftest import TICKER

AWKWARD_JSON: dict[str, Any] = {
    "unicode": "é € 😀 \u2028",
    "float": 0.1 + 0.2,  # 0.30000000000000004: JSONB keeps every digit of the shortest repr
    "tiny": 5e-324,
    "big": 2**53 + 1,  # not a double: must stay an exact integer
    "negative": -12_345_678_901_234_567,
    "nested": {"list": [1, None, True, False, "x", [2.5]], "empty": {}},
    "key order": {"b": 1, "a": 2, "aa": 3},  # JSONB reorders keys; equality must not care
}


def _actions(episode: uuid.UUID) -> list[dict[str, Any]]:
    """Three actions as the actor logs them: an executed order, a refusal, a hold."""
    base = {"episode_id": episode, "market_ticker": TICKER, "state_hash": hashlib.md5(b"obs").hexdigest()}
    return [
        {
            **base,
            "timestamp": 1_800_000_000_000,  # ms: past a 32-bit integer
            "action": 1,
            "action_details": {"name": "buy_yes", "side": "yes", "quantity": "10.00", "model": "m@1"},
            "reward": 0.0,
            "executed": True,
            "execution_result": {
                "order_id": str(uuid.uuid4()),
                "fill_count": "10.00",
                "average_fill_price": "0.5200",
            },
        },
        {
            **base,
            "timestamp": 1_800_000_000_200,
            "action": 2,
            "action_details": {"name": "sell_yes", "model": "m@1"},
            "reward": -0.1748,
            "executed": False,
            "execution_result": {"error": {"code": "invalid_order", "message": "reduce-only: nothing held"}},
        },
        {
            **base,
            "timestamp": 1_800_000_000_400,
            "action": 0,
            "action_details": {"name": "hold", "model": "m@1"},
            "reward": 0.1 + 0.2,
            "executed": False,
            "execution_result": None,
        },
    ]


async def test_a_paper_episode_and_its_actions_round_trip_exactly(database: Engine) -> None:
    registry = ModelRegistry(database)
    before = datetime.now(UTC)
    model = registry.create(
        "round-trip",
        "PPO",
        TICKER,
        "/models/x/checkpoint.zip",
        {"net_arch": [8]},
        AWKWARD_JSON,
        status="ready",
    )
    assert type(model.id) is uuid.UUID and model.label == "round-trip@1"
    assert model.training_config == AWKWARD_JSON and model.hyperparameters == {"net_arch": [8]}
    assert model.created_at is not None and model.created_at.tzinfo is UTC
    assert before <= model.created_at <= datetime.now(UTC)
    assert registry.get("round-trip").to_dict() == model.to_dict()  # the API shape: same on both engines

    episode = registry.start_episode(model.id, TICKER, "paper", {"model": model.label, "contract": "c0ffee"})
    queue = ActionWriteQueue(database, flush_interval_s=0.05)
    queue.start()
    written = _actions(episode)
    for action in written:
        queue.enqueue_action(action)
    await queue.close()
    assert queue.stats.rows_written == {"trading_actions": 3} and queue.stats.healthy
    final = {"position_units": -1_050, "realized_pnl": -0.1748, "fees": 0.1748}
    registry.finish_episode(
        episode, total_reward=0.1 + 0.2, total_steps=3, final_position=final, metadata=AWKWARD_JSON
    )

    with database.connect() as connection:
        stored = [
            dict(row)
            for row in connection.execute(select(trading_actions).order_by(trading_actions.c.id)).mappings()
        ]
    assert [{key: row[key] for key in written[0]} for row in stored] == written
    assert all(type(row["episode_id"]) is uuid.UUID for row in stored)
    assert [type(row["timestamp"]) for row in stored] == [int, int, int]

    (row,) = registry.episodes(model.id, mode="paper")
    assert (row["episode_id"], row["model_id"], row["market_ticker"], row["mode"]) == (
        episode,
        model.id,
        TICKER,
        "paper",
    )
    assert (row["total_reward"], row["total_steps"]) == (0.1 + 0.2, 3)
    assert row["final_position"] == final and row["metadata"] == AWKWARD_JSON
    assert row["start_time"].tzinfo is UTC and row["end_time"].tzinfo is UTC
    assert before <= row["start_time"] <= row["end_time"] <= datetime.now(UTC)
    assert registry.episodes(model.id, mode="training") == []


UNSTORABLE: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": "nul\x00name"}),
    ("notes", {"notes": "nul\x00note"}),
    ("hyperparameters.lr", {"hyperparameters": {"lr": float("nan")}}),
    ("training_config.contract.tick", {"training_config": {"contract": {"tick": float("inf")}}}),
    ("training_config.path[1]", {"training_config": {"path": ["ok", "nul\x00"]}}),
    ("hyperparameters key", {"hyperparameters": {"k\x00": 1}}),
]


@pytest.mark.parametrize(("where", "change"), UNSTORABLE, ids=[u[0] for u in UNSTORABLE])
def test_a_value_one_engine_cannot_store_is_refused_the_same_way_on_both(
    database: Engine, where: str, change: dict[str, Any]
) -> None:
    """PostgreSQL refused these with a raw driver error (not a project error); SQLite stored
    them, NaN as text that no JSON reader accepts. Now both refuse them before writing."""
    registry = ModelRegistry(database)
    model: dict[str, Any] = {
        "name": "m",
        "architecture": "PPO",
        "market_ticker": TICKER,
        "checkpoint_path": "/c.zip",
        "hyperparameters": {},
        "training_config": {},
    }
    with pytest.raises(InvalidValueError, match=f"^{re.escape(where)} "):
        registry.create(**{**model, **change})
    assert registry.list_models() == []
    created = registry.create(**model)
    with pytest.raises(InvalidValueError, match=f"^{re.escape(where)} "):
        registry.update(created.id, **change)
    episode = registry.start_episode(created.id, TICKER, "paper")
    with pytest.raises(InvalidValueError):
        registry.finish_episode(episode, metadata={"bad": float("nan")}, final_position={"ok": 1})
    with pytest.raises(InvalidValueError, match=r"^total_reward is nan"):  # SQLite would store NULL
        registry.finish_episode(episode, total_reward=float("nan"))
    assert registry.get(created.label).to_dict() == created.to_dict()
