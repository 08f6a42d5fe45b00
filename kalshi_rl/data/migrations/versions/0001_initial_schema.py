"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 14:57:29.752969
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _exact(precision: int, scale: int) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """NUMERIC on PostgreSQL; a decimal string on SQLite (see storage.types.ExactDecimal)."""
    return sa.Numeric(precision, scale).with_variant(sa.String(precision + 2), "sqlite")


def _orderbook_tables_here() -> bool:
    """The embedded SQLite file holds the registry only; books live in the lake."""
    return op.get_bind().dialect.name != "sqlite"


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("architecture", sa.Text(), nullable=False),
        sa.Column("market_ticker", sa.Text(), nullable=False),
        sa.Column("parent_model_id", sa.Uuid(), nullable=True),
        sa.Column("checkpoint_path", sa.Text(), nullable=False),
        sa.Column(
            "hyperparameters",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "training_config",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("training_episodes", sa.Integer(), server_default="0", nullable=True),
        sa.Column(
            "training_timesteps", sa.BigInteger(), server_default="0", nullable=True
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "performance_summary",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_model_id"],
            ["models.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index(
            "idx_models_created", [sa.literal_column("created_at DESC")], unique=False
        )
        batch_op.create_index("idx_models_market", ["market_ticker"], unique=False)
        batch_op.create_index(
            "idx_models_name_version", ["name", "version"], unique=True
        )
        batch_op.create_index("idx_models_status", ["status"], unique=False)

    if _orderbook_tables_here():
        op.create_table(
            "orderbook_deltas",
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("market_ticker", sa.Text(), nullable=False),
            sa.Column(
                "timestamp",
                sa.BigInteger(),
                nullable=False,
                comment="unix ms (exchange time, else receive)",
            ),
            sa.Column("sequence_number", sa.BigInteger(), nullable=False),
            sa.Column(
                "delta_type", sa.Text(), nullable=False, comment="add | remove | update"
            ),
            sa.Column(
                "side",
                sa.Text(),
                nullable=False,
                comment="yes_bid | no_bid (Kalshi sends bids only)",
            ),
            sa.Column(
                "price",
                _exact(6, 4),
                nullable=False,
                comment="dollars (spec: integer cents)",
            ),
            sa.Column(
                "quantity",
                _exact(14, 2),
                nullable=True,
                comment="level size after the delta; null for removals",
            ),
            sa.Column(
                "received_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=True,
            ),
            sa.Column(
                "delta",
                _exact(14, 2),
                nullable=False,
                comment="signed change in contracts",
            ),
            sa.Column(
                "exchange_ts_ms",
                sa.BigInteger(),
                nullable=True,
                comment="Kalshi's message time, when given",
            ),
            sa.Column("session_id", sa.Text(), nullable=False, comment="collector run"),
            sa.Column(
                "conn_id",
                sa.Integer(),
                nullable=False,
                comment="WebSocket connection within the run",
            ),
            sa.Column("sid", sa.Integer(), nullable=False),
            sa.Column(
                "segment",
                sa.BigInteger(),
                nullable=False,
                comment="gap-free stretch, starts at a snapshot",
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("orderbook_deltas", schema=None) as batch_op:
            batch_op.create_index(
                "idx_deltas_market_seq",
                ["market_ticker", "sequence_number"],
                unique=False,
            )
            batch_op.create_index(
                "idx_deltas_timestamp", ["market_ticker", "timestamp"], unique=False
            )
            batch_op.create_index(
                "uq_deltas_stream",
                ["session_id", "conn_id", "sid", "sequence_number"],
                unique=True,
            )

        op.create_table(
            "orderbook_snapshots",
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("market_ticker", sa.Text(), nullable=False),
            sa.Column(
                "timestamp",
                sa.BigInteger(),
                nullable=False,
                comment="unix ms (exchange time, else receive)",
            ),
            sa.Column("sequence_number", sa.BigInteger(), nullable=False),
            sa.Column(
                "yes_bids",
                sa.JSON().with_variant(
                    postgresql.JSONB(astext_type=sa.Text()), "postgresql"
                ),
                nullable=False,
                comment='[{"price": "0.5600", "quantity": "678.99"}]',
            ),
            sa.Column(
                "yes_asks",
                sa.JSON().with_variant(
                    postgresql.JSONB(astext_type=sa.Text()), "postgresql"
                ),
                nullable=False,
            ),
            sa.Column(
                "no_bids",
                sa.JSON().with_variant(
                    postgresql.JSONB(astext_type=sa.Text()), "postgresql"
                ),
                nullable=False,
            ),
            sa.Column(
                "no_asks",
                sa.JSON().with_variant(
                    postgresql.JSONB(astext_type=sa.Text()), "postgresql"
                ),
                nullable=False,
            ),
            sa.Column(
                "received_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=True,
            ),
            sa.Column(
                "checksum",
                sa.Text(),
                nullable=True,
                comment="sha256 of the two bid ladders",
            ),
            sa.Column(
                "exchange_ts_ms",
                sa.BigInteger(),
                nullable=True,
                comment="Kalshi's message time, when given",
            ),
            sa.Column("session_id", sa.Text(), nullable=False, comment="collector run"),
            sa.Column(
                "conn_id",
                sa.Integer(),
                nullable=False,
                comment="WebSocket connection within the run",
            ),
            sa.Column("sid", sa.Integer(), nullable=False),
            sa.Column(
                "segment",
                sa.BigInteger(),
                nullable=False,
                comment="gap-free stretch, starts at a snapshot",
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("orderbook_snapshots", schema=None) as batch_op:
            batch_op.create_index(
                "idx_snapshots_market_time",
                ["market_ticker", "timestamp"],
                unique=False,
            )
            batch_op.create_index(
                "idx_snapshots_sequence",
                ["market_ticker", "sequence_number"],
                unique=False,
            )
            batch_op.create_index(
                "uq_snapshots_stream",
                ["market_ticker", "session_id", "conn_id", "sid", "sequence_number"],
                unique=True,
            )

    op.create_table(
        "rl_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("market_ticker", sa.Text(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False, comment="yes | no"),
        sa.Column("direction", sa.Text(), nullable=False, comment="buy | sell"),
        sa.Column("order_type", sa.Text(), nullable=False, comment="market | limit"),
        sa.Column("status", sa.Text(), nullable=False, comment="Kalshi order status"),
        sa.Column(
            "quantity",
            _exact(14, 2),
            nullable=False,
            comment="contracts (spec: integer)",
        ),
        sa.Column("remaining_quantity", _exact(14, 2), nullable=False),
        sa.Column(
            "price",
            _exact(6, 4),
            nullable=True,
            comment="dollars in the order side's frame (spec: integer cents)",
        ),
        sa.Column("filled_quantity", _exact(14, 2), server_default="0", nullable=True),
        sa.Column(
            "average_fill_price",
            _exact(12, 8),
            nullable=True,
            comment="dollars (spec: float)",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rl_orders", schema=None) as batch_op:
        batch_op.create_index("idx_orders_market", ["market_ticker"], unique=False)
        batch_op.create_index("idx_orders_status", ["status"], unique=False)

    op.create_table(
        "rl_fills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("market_ticker", sa.Text(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column(
            "quantity",
            _exact(14, 2),
            nullable=False,
            comment="contracts (spec: integer)",
        ),
        sa.Column(
            "price", _exact(6, 4), nullable=False, comment="dollars (spec: float)"
        ),
        sa.Column(
            "timestamp",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "execution_type", sa.Text(), nullable=False, comment="market | limit"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["rl_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rl_fills", schema=None) as batch_op:
        batch_op.create_index("idx_fills_order", ["order_id"], unique=False)
        batch_op.create_index("idx_fills_timestamp", ["timestamp"], unique=False)

    op.create_table(
        "trading_episodes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=True),
        sa.Column("market_ticker", sa.Text(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "mode",
            sa.Text(),
            nullable=False,
            comment="training | paper ('live' is refused)",
        ),
        sa.Column("total_reward", sa.Float(), nullable=True),
        sa.Column("total_steps", sa.Integer(), nullable=True),
        sa.Column(
            "final_position",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("episode_id"),
    )
    with op.batch_alter_table("trading_episodes", schema=None) as batch_op:
        batch_op.create_index("idx_episodes_mode", ["mode"], unique=False)
        batch_op.create_index("idx_episodes_model", ["model_id"], unique=False)
        batch_op.create_index(
            "idx_episodes_time", [sa.literal_column("start_time DESC")], unique=False
        )

    op.create_table(
        "trading_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("episode_id", sa.Uuid(), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("market_ticker", sa.Text(), nullable=False),
        sa.Column("action", sa.Integer(), nullable=False),
        sa.Column(
            "action_details",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("state_hash", sa.Text(), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("executed", sa.Boolean(), server_default="false", nullable=True),
        sa.Column(
            "execution_result",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["trading_episodes.episode_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trading_actions", schema=None) as batch_op:
        batch_op.create_index("idx_actions_episode", ["episode_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trading_actions", schema=None) as batch_op:
        batch_op.drop_index("idx_actions_episode")

    op.drop_table("trading_actions")
    with op.batch_alter_table("trading_episodes", schema=None) as batch_op:
        batch_op.drop_index("idx_episodes_time")
        batch_op.drop_index("idx_episodes_model")
        batch_op.drop_index("idx_episodes_mode")

    op.drop_table("trading_episodes")
    with op.batch_alter_table("rl_fills", schema=None) as batch_op:
        batch_op.drop_index("idx_fills_timestamp")
        batch_op.drop_index("idx_fills_order")

    op.drop_table("rl_fills")
    with op.batch_alter_table("rl_orders", schema=None) as batch_op:
        batch_op.drop_index("idx_orders_status")
        batch_op.drop_index("idx_orders_market")

    op.drop_table("rl_orders")
    if _orderbook_tables_here():
        with op.batch_alter_table("orderbook_snapshots", schema=None) as batch_op:
            batch_op.drop_index("uq_snapshots_stream")
            batch_op.drop_index("idx_snapshots_sequence")
            batch_op.drop_index("idx_snapshots_market_time")

        op.drop_table("orderbook_snapshots")
        with op.batch_alter_table("orderbook_deltas", schema=None) as batch_op:
            batch_op.drop_index("uq_deltas_stream")
            batch_op.drop_index("idx_deltas_timestamp")
            batch_op.drop_index("idx_deltas_market_seq")

        op.drop_table("orderbook_deltas")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index("idx_models_status")
        batch_op.drop_index("idx_models_name_version")
        batch_op.drop_index("idx_models_market")
        batch_op.drop_index("idx_models_created")

    op.drop_table("models")
