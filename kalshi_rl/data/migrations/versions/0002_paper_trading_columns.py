"""paper trading columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:47:00.362234
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _exact(precision: int, scale: int) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    """NUMERIC on PostgreSQL; a decimal string on SQLite (see storage.types.ExactDecimal)."""
    return sa.Numeric(precision, scale).with_variant(sa.String(precision + 2), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('rl_fills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.Text(), nullable=True, comment='buy | sell'))
        batch_op.add_column(sa.Column('yes_price', _exact(6, 4), nullable=True, comment="the fill's YES price, dollars"))
        batch_op.add_column(sa.Column('fee', _exact(18, 6), nullable=True, comment='fee charged on this fill, dollars'))
        batch_op.add_column(sa.Column('is_taker', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('trade_id', sa.Text(), nullable=True))

    with op.batch_alter_table('rl_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_order_id', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('book_side', sa.Text(), nullable=True, comment='bid (buy YES) | ask (sell YES = buy NO)'))
        batch_op.add_column(sa.Column('yes_price', _exact(6, 4), nullable=True, comment='limit in YES dollars (Kalshi V2 orders price the YES leg)'))
        batch_op.add_column(sa.Column('time_in_force', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('fees', _exact(18, 6), nullable=True, comment='fees paid, dollars'))
        batch_op.add_column(sa.Column('fill_cost', _exact(18, 6), nullable=True, comment='cost of the filled contracts, dollars'))
        batch_op.add_column(sa.Column('model_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('episode_id', sa.Uuid(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('rl_orders', schema=None) as batch_op:
        batch_op.drop_column('episode_id')
        batch_op.drop_column('model_id')
        batch_op.drop_column('fill_cost')
        batch_op.drop_column('fees')
        batch_op.drop_column('time_in_force')
        batch_op.drop_column('yes_price')
        batch_op.drop_column('book_side')
        batch_op.drop_column('client_order_id')

    with op.batch_alter_table('rl_fills', schema=None) as batch_op:
        batch_op.drop_column('trade_id')
        batch_op.drop_column('is_taker')
        batch_op.drop_column('fee')
        batch_op.drop_column('yes_price')
        batch_op.drop_column('action')

