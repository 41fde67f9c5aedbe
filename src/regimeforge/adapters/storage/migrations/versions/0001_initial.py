"""Initial schema: runs, backtests, regimes, regime bests + history, queues + items; seed regimes.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28

Revisions never import application code (the code changes, a revision must not): types,
constraint names and the four default regimes are literal copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UUID = sa.String(36)
HASH = sa.String(64)
NOW = sa.text("CURRENT_TIMESTAMP")
RUN_STATUSES = "'pending', 'running', 'completed', 'failed', 'cancelled'"
QUEUE_STATUSES = "'pending', 'running', 'paused', 'completed', 'cancelled', 'failed'"
ITEM_STATUSES = "'pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'"

#: The four default regimes (literal copy of DEFAULT_REGIME_DEFINITIONS in domain/regimes.py;
#: a unit test checks that they agree).
DEFAULT_REGIMES = (
    {
        "regime_name": "bull_trending",
        "description": "A clear upward trend",
        "detector": "rules",
        "detection_rules": {"trend_strength": "> 0.5", "signed_return": "> 0"},
        "priority": 10,
        "is_active": True,
    },
    {
        "regime_name": "bear_trending",
        "description": "A clear downward trend",
        "detector": "rules",
        "detection_rules": {"trend_strength": "> 0.5", "signed_return": "<= 0"},
        "priority": 20,
        "is_active": True,
    },
    {
        "regime_name": "volatile_ranging",
        "description": "No clear trend, volatility above its trailing median",
        "detector": "rules",
        "detection_rules": {"realized_vol": "> 50th percentile"},
        "priority": 30,
        "is_active": True,
    },
    {
        "regime_name": "calm_ranging",
        "description": "No clear trend, volatility at or below its trailing median",
        "detector": "rules",
        "detection_rules": {"realized_vol": "<= 50th percentile"},
        "priority": 40,
        "is_active": True,
    },
)


def _time(name: str, *, nullable: bool = True) -> sa.Column[Any]:
    default = None if nullable else NOW
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def _int(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _stamps() -> list[sa.Column[Any]]:
    return [
        _time("created_at", nullable=False),
        _time("started_at"),
        _time("completed_at"),
        _time("updated_at"),
    ]


def upgrade() -> None:
    op.create_table(
        "training_queue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("queue_uuid", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config_grid", JSON, nullable=False),
        sa.Column("inference_grid", JSON, nullable=False),
        *(_int(n) for n in ("total_configs", "current_index")),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            _int(n)
            for n in (
                "completed_count",
                "failed_count",
                "skipped_count",
                "consecutive_failures",
                "priority",
                "max_parallel",
            )
        ),
        sa.Column("pause_requested", sa.Boolean(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("coordinator_host", sa.String(255), nullable=True),
        sa.Column("coordinator_pid", sa.Integer(), nullable=True),
        _time("heartbeat_at"),
        sa.Column("message", sa.Text(), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("queue_uuid", name="uq_training_queue_queue_uuid"),
        sa.CheckConstraint(f"status IN ({QUEUE_STATUSES})", name="ck_training_queue_status"),
    )
    op.create_index("ix_training_queue_status", "training_queue", ["status"])
    op.create_index("ix_training_queue_name", "training_queue", ["name"])

    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_uuid", UUID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model_type", sa.String(64), nullable=False),
        sa.Column("encoder", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("base_timeframe", sa.String(8), nullable=False),
        _int("days_history"),
        _int("horizon"),
        *(
            sa.Column(n, JSON, nullable=False)
            for n in (
                "indicator_tfs",
                "additional_features",
                "preprocessing_params",
                "model_hyperparams",
                "encoder_params",
                "training_metrics",
            )
        ),
        sa.Column("feature_count", sa.Integer(), nullable=True),
        sa.Column("training_duration_seconds", sa.Float(), nullable=True),
        sa.Column("model_file_path", sa.String(1024), nullable=True),
        sa.Column("model_file_size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("model_file_sha256", HASH, nullable=True),
        sa.Column("is_model_kept", sa.Boolean(), nullable=False),
        sa.Column("best_regimes", JSON, nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "queue_id",
            sa.Integer(),
            sa.ForeignKey(
                "training_queue.id", ondelete="SET NULL", name="fk_training_runs_queue_id"
            ),
            nullable=True,
        ),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("config_hash", HASH, nullable=False),
        sa.Column("data_fingerprint", HASH, nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("package_version", sa.String(64), nullable=False),
        *_stamps(),
        sa.UniqueConstraint("run_uuid", name="uq_training_runs_run_uuid"),
        sa.CheckConstraint(f"status IN ({RUN_STATUSES})", name="ck_training_runs_status"),
    )
    op.create_index("ix_training_runs_status", "training_runs", ["status"])
    op.create_index("ix_training_runs_config_hash", "training_runs", ["config_hash"])
    op.create_index(
        "ix_training_runs_symbol_tf_status", "training_runs", ["symbol", "base_timeframe", "status"]
    )
    op.create_index("ix_training_runs_model_type", "training_runs", ["model_type"])
    op.create_index("ix_training_runs_queue_id", "training_runs", ["queue_id"])
    op.create_index("ix_training_runs_created_at", "training_runs", ["created_at"])
    live = sa.text("status IN ('completed', 'running')")
    op.create_index(
        "uq_training_runs_live_config",
        "training_runs",
        ["config_hash", "data_fingerprint"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )

    op.create_table(
        "inference_backtests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("backtest_uuid", UUID, nullable=False),
        sa.Column(
            "training_run_id",
            sa.Integer(),
            sa.ForeignKey(
                "training_runs.id",
                ondelete="CASCADE",
                name="fk_inference_backtests_training_run_id",
            ),
            nullable=False,
        ),
        sa.Column("prediction_method", sa.String(32), nullable=False),
        sa.Column("ensemble_method", sa.String(32), nullable=False),
        sa.Column("confidence_threshold", sa.Float(), nullable=False),
        _int("lookback_window"),
        sa.Column("inference_params", JSON, nullable=False),
        sa.Column("inference_hash", HASH, nullable=False),
        sa.Column("backtest_metrics", JSON, nullable=False),
        sa.Column("regime_metrics", JSON, nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        _time("created_at", nullable=False),
        sa.UniqueConstraint("backtest_uuid", name="uq_inference_backtests_backtest_uuid"),
        sa.UniqueConstraint(
            "training_run_id", "inference_hash", name="uq_inference_backtests_run_hash"
        ),
    )
    op.create_index(
        "ix_inference_backtests_run_method",
        "inference_backtests",
        ["training_run_id", "prediction_method"],
    )

    regimes = op.create_table(
        "regime_definitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("regime_name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("detector", sa.String(64), nullable=False),
        sa.Column("detection_rules", JSON, nullable=False),
        _int("priority"),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _time("created_at", nullable=False),
        sa.UniqueConstraint("regime_name", name="uq_regime_definitions_regime_name"),
    )

    op.create_table(
        "regime_best_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "regime_name",
            sa.String(64),
            sa.ForeignKey(
                "regime_definitions.regime_name",
                ondelete="CASCADE",
                name="fk_regime_best_models_regime_name",
            ),
            nullable=False,
        ),
        _int("rank"),
        sa.Column(
            "training_run_id",
            sa.Integer(),
            sa.ForeignKey(
                "training_runs.id", ondelete="CASCADE", name="fk_regime_best_models_training_run_id"
            ),
            nullable=False,
        ),
        sa.Column(
            "inference_backtest_id",
            sa.Integer(),
            sa.ForeignKey(
                "inference_backtests.id",
                ondelete="CASCADE",
                name="fk_regime_best_models_inference_backtest_id",
            ),
            nullable=False,
        ),
        sa.Column("performance_score", sa.Float(), nullable=False),
        sa.Column("secondary_metrics", JSON, nullable=False),
        _time("achieved_at"),
        sa.UniqueConstraint("regime_name", "rank", name="uq_regime_best_models_regime_rank"),
        sa.CheckConstraint("rank >= 1", name="ck_regime_best_models_rank"),
    )
    op.create_index(
        "ix_regime_best_models_training_run_id", "regime_best_models", ["training_run_id"]
    )
    op.create_index(
        "ix_regime_best_models_inference_backtest_id",
        "regime_best_models",
        ["inference_backtest_id"],
    )

    op.create_table(
        "regime_best_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("regime_name", sa.String(64), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        _int("rank"),
        sa.Column("run_uuid", UUID, nullable=False),
        sa.Column("backtest_uuid", UUID, nullable=False),
        sa.Column("performance_score", sa.Float(), nullable=False),
        sa.Column("previous_score", sa.Float(), nullable=True),
        sa.Column("previous_run_uuid", UUID, nullable=True),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=True),
        _time("at"),
    )
    op.create_index("ix_regime_best_history_regime_name", "regime_best_history", ["regime_name"])

    op.create_table(
        "training_queue_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "queue_id",
            sa.Integer(),
            sa.ForeignKey(
                "training_queue.id", ondelete="CASCADE", name="fk_training_queue_items_queue_id"
            ),
            nullable=False,
        ),
        _int("item_index"),
        sa.Column("config_hash", HASH, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _int("attempts"),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        _time("heartbeat_at"),
        sa.Column(
            "training_run_id",
            sa.Integer(),
            sa.ForeignKey(
                "training_runs.id",
                ondelete="SET NULL",
                name="fk_training_queue_items_training_run_id",
            ),
            nullable=True,
        ),
        sa.Column("run_uuid", UUID, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("queue_id", "item_index", name="uq_training_queue_items_queue_index"),
        sa.CheckConstraint(f"status IN ({ITEM_STATUSES})", name="ck_training_queue_items_status"),
    )
    op.create_index(
        "ix_training_queue_items_claim",
        "training_queue_items",
        ["queue_id", "status", "item_index"],
    )
    op.create_index(
        "ix_training_queue_items_training_run_id", "training_queue_items", ["training_run_id"]
    )

    op.bulk_insert(regimes, [dict(r) for r in DEFAULT_REGIMES])


def downgrade() -> None:
    for table in (
        "training_queue_items",
        "regime_best_history",
        "regime_best_models",
        "regime_definitions",
        "inference_backtests",
        "training_runs",
        "training_queue",
    ):
        op.drop_table(table)
