"""The registry write queue: a row the database refuses is set aside, never blocks the rows behind it."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from kalshi_rl.data.sql_queue import ActionWriteQueue
from kalshi_rl.data.storage.schema import trading_actions


def action(timestamp: int, market: str | None = "KX-A") -> dict[str, object]:
    return {"timestamp": timestamp, "market_ticker": market, "action": 1, "reward": 0.0, "executed": False}


async def test_a_refused_row_is_set_aside_and_the_rows_around_it_are_written(database: Engine) -> None:
    queue = ActionWriteQueue(database, batch_size=1_000)
    for ts in (1, 2):
        queue.enqueue_action(action(ts))
    queue.enqueue_action(action(3, market=None))  # NOT NULL: refused on every engine, on every retry
    for ts in (4, 5):
        queue.enqueue_action(action(ts))

    assert await queue.flush() == 4
    assert queue.depth == 0 and queue.stats.backlog_rows == 0
    assert queue.stats.rejected == {"trading_actions": 1}
    assert queue.stats.rows_written == {"trading_actions": 4}
    assert queue.stats.healthy
    assert "market_ticker" in queue.stats.last_error or "NOT NULL" in queue.stats.last_error.upper()
    with database.connect() as connection:
        stored = connection.execute(select(trading_actions.c.timestamp).order_by(trading_actions.c.id)).all()
    assert [row.timestamp for row in stored] == [1, 2, 4, 5]

    queue.enqueue_action(action(6))  # the queue keeps working in the normal, batched way
    assert await queue.flush() == 1
    with database.connect() as connection:
        assert connection.execute(select(func.count()).select_from(trading_actions)).scalar() == 5


async def test_a_problem_of_every_row_keeps_them_all_for_the_retry(database: Engine) -> None:
    queue = ActionWriteQueue(database)
    queue.enqueue_action(action(1))
    database.dispose()
    with database.connect() as connection:  # a missing table fails every row alike: none is set aside
        connection.exec_driver_sql("ALTER TABLE trading_actions RENAME TO trading_actions_away")
        connection.commit()
    try:
        assert await queue.flush() == 0
        assert queue.depth == 1 and queue.stats.rejected == {} and not queue.stats.healthy
    finally:
        with database.connect() as connection:
            connection.exec_driver_sql("ALTER TABLE trading_actions_away RENAME TO trading_actions")
            connection.commit()
    assert await queue.flush() == 1 and queue.depth == 0
