"""The spec's seven tables (§2.1, §10.5), defined once for PostgreSQL and SQLite.

Where the spec's integer columns cannot hold Kalshi's real values exactly, the type changes
and the unit is in the comment: prices are ``NUMERIC(6,4)`` dollars (sub-cent ticks such as
0.0520 exist) and counts ``NUMERIC(14,2)`` contracts (fractional sizes such as 678.99 exist).
Each orderbook row also records which stream it came from (session, connection, sid, seq)
and its book segment (a gap-free stretch that starts at a snapshot), and a unique key on that
stream position makes a retried COPY idempotent.
"""

from __future__ import annotations

import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
)

from kalshi_rl.data.storage.types import BigId, ExactDecimal, JsonB

metadata = MetaData()

PRICE = ExactDecimal(6, 4)  # dollars, exact to $0.0001
COUNT = ExactDecimal(14, 2)  # contracts, exact to 0.01
MONEY = ExactDecimal(16, 4)  # dollars
FINE_MONEY = ExactDecimal(18, 6)  # dollars; a fractional count at a sub-cent price costs $0.000001 steps


def _stream_columns() -> list[Column]:
    return [
        Column("exchange_ts_ms", BigInteger, comment="Kalshi's message time, when given"),
        Column("session_id", Text, nullable=False, comment="collector run"),
        Column("conn_id", Integer, nullable=False, comment="WebSocket connection within the run"),
        Column("sid", Integer, nullable=False),
        Column("segment", BigInteger, nullable=False, comment="gap-free stretch, starts at a snapshot"),
    ]


orderbook_snapshots = Table(
    "orderbook_snapshots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("market_ticker", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False, comment="unix ms (exchange time, else receive)"),
    Column("sequence_number", BigInteger, nullable=False),
    Column("yes_bids", JsonB, nullable=False, comment='[{"price": "0.5600", "quantity": "678.99"}]'),
    Column("yes_asks", JsonB, nullable=False),
    Column("no_bids", JsonB, nullable=False),
    Column("no_asks", JsonB, nullable=False),
    Column("received_at", DateTime(timezone=True), server_default=func.now()),
    Column("checksum", Text, comment="sha256 of the two bid ladders"),
    *_stream_columns(),
    Index("idx_snapshots_market_time", "market_ticker", "timestamp"),
    Index("idx_snapshots_sequence", "market_ticker", "sequence_number"),
    Index(
        "uq_snapshots_stream",
        "market_ticker",
        "session_id",
        "conn_id",
        "sid",
        "sequence_number",
        unique=True,
    ),
)

orderbook_deltas = Table(
    "orderbook_deltas",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("market_ticker", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False, comment="unix ms (exchange time, else receive)"),
    Column("sequence_number", BigInteger, nullable=False),
    Column("delta_type", Text, nullable=False, comment="add | remove | update"),
    Column("side", Text, nullable=False, comment="yes_bid | no_bid (Kalshi sends bids only)"),
    Column("price", PRICE, nullable=False, comment="dollars (spec: integer cents)"),
    Column("quantity", COUNT, comment="level size after the delta; null for removals"),
    Column("received_at", DateTime(timezone=True), server_default=func.now()),
    Column("delta", COUNT, nullable=False, comment="signed change in contracts"),
    *_stream_columns(),
    Index("idx_deltas_market_seq", "market_ticker", "sequence_number"),
    Index("idx_deltas_timestamp", "market_ticker", "timestamp"),
    Index("uq_deltas_stream", "session_id", "conn_id", "sid", "sequence_number", unique=True),
)

models = Table(
    "models",
    metadata,
    Column("id", Uuid, primary_key=True, default=uuid.uuid4),
    Column("name", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("architecture", Text, nullable=False),
    Column("market_ticker", Text, nullable=False),
    Column("parent_model_id", Uuid, ForeignKey("models.id")),
    Column("checkpoint_path", Text, nullable=False),
    Column("hyperparameters", JsonB, nullable=False),
    Column("training_config", JsonB, nullable=False),
    Column("training_episodes", Integer, server_default="0"),
    Column("training_timesteps", BigInteger, server_default="0"),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), server_default=func.now()),
    Column("performance_summary", JsonB),
    Column("status", Text, nullable=False),
    Column("notes", Text),
    Index("idx_models_market", "market_ticker"),
    Index("idx_models_status", "status"),
    Index("idx_models_name_version", "name", "version", unique=True),
)
Index("idx_models_created", models.c.created_at.desc())

trading_episodes = Table(
    "trading_episodes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("episode_id", Uuid, nullable=False, unique=True, default=uuid.uuid4),
    Column("model_id", Uuid, ForeignKey("models.id")),
    Column("market_ticker", Text, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True)),
    Column("mode", Text, nullable=False, comment="training | paper ('live' is refused)"),
    Column("total_reward", Float),
    Column("total_steps", Integer),
    Column("final_position", JsonB),
    Column("metadata", JsonB),
    Index("idx_episodes_model", "model_id"),
    Index("idx_episodes_mode", "mode"),
)
Index("idx_episodes_time", trading_episodes.c.start_time.desc())

trading_actions = Table(
    "trading_actions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("episode_id", Uuid, ForeignKey("trading_episodes.episode_id")),
    Column("timestamp", BigInteger, nullable=False),
    Column("market_ticker", Text, nullable=False),
    Column("action", Integer, nullable=False),
    Column("action_details", JsonB),
    Column("state_hash", Text),
    Column("reward", Float),
    Column("executed", Boolean, server_default="false"),
    Column("execution_result", JsonB),
    Index("idx_actions_episode", "episode_id"),
)

rl_orders = Table(
    "rl_orders",
    metadata,
    Column("id", Uuid, primary_key=True, default=uuid.uuid4),
    Column("market_ticker", Text, nullable=False),
    Column("side", Text, nullable=False, comment="yes | no"),
    Column("direction", Text, nullable=False, comment="buy | sell"),
    Column("order_type", Text, nullable=False, comment="market | limit"),
    Column("status", Text, nullable=False, comment="Kalshi order status"),
    Column("quantity", COUNT, nullable=False, comment="contracts (spec: integer)"),
    Column("remaining_quantity", COUNT, nullable=False),
    Column("price", PRICE, comment="dollars in the order side's frame (spec: integer cents)"),
    Column("filled_quantity", COUNT, server_default="0"),
    Column("average_fill_price", ExactDecimal(12, 8), comment="dollars (spec: float)"),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), server_default=func.now()),
    # Beyond the spec: what Kalshi's Order carries and the paper client needs to reproduce it.
    Column("client_order_id", Text),
    Column("book_side", Text, comment="bid (buy YES) | ask (sell YES = buy NO)"),
    Column("yes_price", PRICE, comment="limit in YES dollars (Kalshi V2 orders price the YES leg)"),
    Column("time_in_force", Text),
    Column("fees", FINE_MONEY, comment="fees paid, dollars"),
    Column("fill_cost", FINE_MONEY, comment="cost of the filled contracts, dollars"),
    Column("model_id", Uuid),
    Column("episode_id", Uuid),
    Index("idx_orders_market", "market_ticker"),
    Index("idx_orders_status", "status"),
)

rl_fills = Table(
    "rl_fills",
    metadata,
    Column("id", Uuid, primary_key=True, default=uuid.uuid4),
    Column("order_id", Uuid, ForeignKey("rl_orders.id")),
    Column("market_ticker", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("quantity", COUNT, nullable=False, comment="contracts (spec: integer)"),
    Column("price", PRICE, nullable=False, comment="dollars (spec: float)"),
    Column("timestamp", DateTime(timezone=True), server_default=func.now()),
    Column("execution_type", Text, nullable=False, comment="market | limit"),
    Column("action", Text, comment="buy | sell"),
    Column("yes_price", PRICE, comment="the fill's YES price, dollars"),
    Column("fee", FINE_MONEY, comment="fee charged on this fill, dollars"),
    Column("is_taker", Boolean),
    Column("trade_id", Text),
    Index("idx_fills_order", "order_id"),
    Index("idx_fills_timestamp", "timestamp"),
)

ORDERBOOK_TABLES = (orderbook_snapshots, orderbook_deltas)
REGISTRY_TABLES = (models, trading_episodes, trading_actions, rl_orders, rl_fills)
