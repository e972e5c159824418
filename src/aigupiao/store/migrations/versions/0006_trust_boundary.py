"""API key scopes and node tokens bound to one node id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

- ``api_keys.scope``: ``read``, ``trade`` or ``admin``. Keys made before scopes existed
  acted as a trader, so they become ``trade``.
- ``node_tokens.node_id``: the one node a token may register as. Tokens made before
  were named after their node (``aigupiao node add local-1``), so it is the name.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=False, server_default="trade"))
    with op.batch_alter_table("node_tokens") as batch:
        batch.add_column(sa.Column("node_id", sa.String(64), nullable=True))
    op.execute("UPDATE node_tokens SET node_id = name WHERE node_id IS NULL")
    with op.batch_alter_table("node_tokens") as batch:
        batch.alter_column("node_id", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_node_tokens_node_id", ["node_id"])


def downgrade() -> None:
    with op.batch_alter_table("node_tokens") as batch:
        batch.drop_index("ix_node_tokens_node_id")
        batch.drop_column("node_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
