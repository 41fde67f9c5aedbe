"""ORM row classes: the schema of DESIGN §6, separate from the domain's attrs objects.

Repositories turn rows into domain objects (``mapping.py``); nothing outside this package sees
a row. Every constraint and index is named explicitly so that the alembic revision, the
autogenerate comparison and error messages all speak of the same names on both databases.
Timestamps are ``UtcDateTime`` (aware UTC on read), documents are JSON (JSONB on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from regimeforge.adapters.storage.sqltypes import JSON_TYPE, UtcDateTime
from regimeforge.domain.states import ItemStatus, QueueStatus, RunStatus

UUID_LEN = 36
HASH_LEN = 64
NOW = sa.func.current_timestamp()


def status_check(table: str, enum: type[StrEnum]) -> sa.CheckConstraint:
    """CHECK that ``status`` is one of the enum's values (named ``ck_<table>_status``)."""
    values = ", ".join(f"'{s.value}'" for s in enum)
    return sa.CheckConstraint(f"status IN ({values})", name=f"ck_{table}_status")


#: Runs that block another run of the same config on the same data (the partial unique index).
LIVE_RUN_STATUSES = (RunStatus.COMPLETED.value, RunStatus.RUNNING.value)
_LIVE_WHERE = sa.text("status IN ('completed', 'running')")


class Base(DeclarativeBase):
    """Declarative base; ``Base.metadata`` is what alembic's autogenerate compares against."""


class QueueRow(Base):
    """``training_queue``: one grid being worked through."""

    __tablename__ = "training_queue"
    __table_args__ = (
        sa.UniqueConstraint("queue_uuid", name="uq_training_queue_queue_uuid"),
        status_check("training_queue", QueueStatus),
        sa.Index("ix_training_queue_status", "status"),
        sa.Index("ix_training_queue_name", "name"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    queue_uuid: Mapped[str] = mapped_column(sa.String(UUID_LEN))
    name: Mapped[str] = mapped_column(sa.String(200))
    config_grid: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    inference_grid: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    total_configs: Mapped[int] = mapped_column(sa.Integer)
    current_index: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16))
    completed_count: Mapped[int] = mapped_column(sa.Integer)
    failed_count: Mapped[int] = mapped_column(sa.Integer)
    skipped_count: Mapped[int] = mapped_column(sa.Integer)
    consecutive_failures: Mapped[int] = mapped_column(sa.Integer)
    priority: Mapped[int] = mapped_column(sa.Integer)
    max_parallel: Mapped[int] = mapped_column(sa.Integer)
    pause_requested: Mapped[bool] = mapped_column(sa.Boolean)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean)
    coordinator_host: Mapped[str | None] = mapped_column(sa.String(255))
    coordinator_pid: Mapped[int | None] = mapped_column(sa.Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=NOW)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RunRow(Base):
    """``training_runs``: one training of one model configuration."""

    __tablename__ = "training_runs"
    __table_args__ = (
        sa.UniqueConstraint("run_uuid", name="uq_training_runs_run_uuid"),
        status_check("training_runs", RunStatus),
        sa.Index("ix_training_runs_status", "status"),
        sa.Index("ix_training_runs_config_hash", "config_hash"),
        sa.Index("ix_training_runs_symbol_tf_status", "symbol", "base_timeframe", "status"),
        sa.Index("ix_training_runs_model_type", "model_type"),
        sa.Index("ix_training_runs_queue_id", "queue_id"),
        sa.Index("ix_training_runs_created_at", "created_at"),
        # At most one completed-or-running run per config on the same data: the dedup rule.
        sa.Index(
            "uq_training_runs_live_config",
            "config_hash",
            "data_fingerprint",
            unique=True,
            sqlite_where=_LIVE_WHERE,
            postgresql_where=_LIVE_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    run_uuid: Mapped[str] = mapped_column(sa.String(UUID_LEN))
    status: Mapped[str] = mapped_column(sa.String(16))
    model_type: Mapped[str] = mapped_column(sa.String(64))
    encoder: Mapped[str] = mapped_column(sa.String(64))
    symbol: Mapped[str] = mapped_column(sa.String(64))
    base_timeframe: Mapped[str] = mapped_column(sa.String(8))
    days_history: Mapped[int] = mapped_column(sa.Integer)
    horizon: Mapped[int] = mapped_column(sa.Integer)
    indicator_tfs: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    additional_features: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    preprocessing_params: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    model_hyperparams: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    encoder_params: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    training_metrics: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    feature_count: Mapped[int | None] = mapped_column(sa.Integer)
    training_duration_seconds: Mapped[float | None] = mapped_column(sa.Float)
    model_file_path: Mapped[str | None] = mapped_column(sa.String(1024))
    model_file_size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    model_file_sha256: Mapped[str | None] = mapped_column(sa.String(HASH_LEN))
    is_model_kept: Mapped[bool] = mapped_column(sa.Boolean)
    best_regimes: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    queue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("training_queue.id", ondelete="SET NULL", name="fk_training_runs_queue_id")
    )
    created_by: Mapped[str] = mapped_column(sa.String(255))
    config_hash: Mapped[str] = mapped_column(sa.String(HASH_LEN))
    data_fingerprint: Mapped[str] = mapped_column(sa.String(HASH_LEN))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    package_version: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=NOW)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BacktestRow(Base):
    """``inference_backtests``: one inference configuration run against one trained model."""

    __tablename__ = "inference_backtests"
    __table_args__ = (
        sa.UniqueConstraint("backtest_uuid", name="uq_inference_backtests_backtest_uuid"),
        sa.UniqueConstraint(
            "training_run_id", "inference_hash", name="uq_inference_backtests_run_hash"
        ),
        sa.Index("ix_inference_backtests_run_method", "training_run_id", "prediction_method"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    backtest_uuid: Mapped[str] = mapped_column(sa.String(UUID_LEN))
    training_run_id: Mapped[int] = mapped_column(
        sa.ForeignKey(
            "training_runs.id", ondelete="CASCADE", name="fk_inference_backtests_training_run_id"
        )
    )
    prediction_method: Mapped[str] = mapped_column(sa.String(32))
    ensemble_method: Mapped[str] = mapped_column(sa.String(32))
    confidence_threshold: Mapped[float] = mapped_column(sa.Float)
    lookback_window: Mapped[int] = mapped_column(sa.Integer)
    inference_params: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    inference_hash: Mapped[str] = mapped_column(sa.String(HASH_LEN))
    backtest_metrics: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    regime_metrics: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    duration_seconds: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=NOW)


class RegimeRow(Base):
    """``regime_definitions``: a named regime and its detection rules."""

    __tablename__ = "regime_definitions"
    __table_args__ = (sa.UniqueConstraint("regime_name", name="uq_regime_definitions_regime_name"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    regime_name: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.Text)
    detector: Mapped[str] = mapped_column(sa.String(64))
    detection_rules: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    priority: Mapped[int] = mapped_column(sa.Integer)
    is_active: Mapped[bool] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=NOW)


class BestRow(Base):
    """``regime_best_models``: rank N of a regime's top-N backtests."""

    __tablename__ = "regime_best_models"
    __table_args__ = (
        sa.UniqueConstraint("regime_name", "rank", name="uq_regime_best_models_regime_rank"),
        sa.CheckConstraint("rank >= 1", name="ck_regime_best_models_rank"),
        sa.Index("ix_regime_best_models_training_run_id", "training_run_id"),
        sa.Index("ix_regime_best_models_inference_backtest_id", "inference_backtest_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    regime_name: Mapped[str] = mapped_column(
        sa.ForeignKey(
            "regime_definitions.regime_name",
            ondelete="CASCADE",
            name="fk_regime_best_models_regime_name",
        )
    )
    rank: Mapped[int] = mapped_column(sa.Integer)
    training_run_id: Mapped[int] = mapped_column(
        sa.ForeignKey(
            "training_runs.id", ondelete="CASCADE", name="fk_regime_best_models_training_run_id"
        )
    )
    inference_backtest_id: Mapped[int] = mapped_column(
        sa.ForeignKey(
            "inference_backtests.id",
            ondelete="CASCADE",
            name="fk_regime_best_models_inference_backtest_id",
        )
    )
    performance_score: Mapped[float] = mapped_column(sa.Float)
    secondary_metrics: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    achieved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BestHistoryRow(Base):
    """``regime_best_history``: facts about top-N changes; uuids, not keys, so they outlive runs."""

    __tablename__ = "regime_best_history"
    __table_args__ = (sa.Index("ix_regime_best_history_regime_name", "regime_name"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    regime_name: Mapped[str] = mapped_column(sa.String(64))
    change: Mapped[str] = mapped_column(sa.String(16))
    rank: Mapped[int] = mapped_column(sa.Integer)
    run_uuid: Mapped[str] = mapped_column(sa.String(UUID_LEN))
    backtest_uuid: Mapped[str] = mapped_column(sa.String(UUID_LEN))
    performance_score: Mapped[float] = mapped_column(sa.Float)
    previous_score: Mapped[float | None] = mapped_column(sa.Float)
    previous_run_uuid: Mapped[str | None] = mapped_column(sa.String(UUID_LEN))
    delta: Mapped[float | None] = mapped_column(sa.Float)
    percent: Mapped[float | None] = mapped_column(sa.Float)
    at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class QueueItemRow(Base):
    """``training_queue_items``: one grid point of a queue, claimed by one worker at a time."""

    __tablename__ = "training_queue_items"
    __table_args__ = (
        sa.UniqueConstraint("queue_id", "item_index", name="uq_training_queue_items_queue_index"),
        status_check("training_queue_items", ItemStatus),
        sa.Index("ix_training_queue_items_claim", "queue_id", "status", "item_index"),
        sa.Index("ix_training_queue_items_training_run_id", "training_run_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(
        sa.ForeignKey(
            "training_queue.id", ondelete="CASCADE", name="fk_training_queue_items_queue_id"
        )
    )
    item_index: Mapped[int] = mapped_column(sa.Integer)
    config_hash: Mapped[str] = mapped_column(sa.String(HASH_LEN))
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    training_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey(
            "training_runs.id", ondelete="SET NULL", name="fk_training_queue_items_training_run_id"
        )
    )
    run_uuid: Mapped[str | None] = mapped_column(sa.String(UUID_LEN))
    error: Mapped[str | None] = mapped_column(sa.Text)


def table(row: type[Base]) -> sa.Table:
    """The ``Table`` of a row class (typed, for Core statements in the repositories)."""
    found = row.__table__
    assert isinstance(found, sa.Table)
    return found
