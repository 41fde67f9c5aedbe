"""Rows <-> domain objects for regimes, regime bests, their history, queues and queue items.

Same rules as ``mapping.py`` (whose ``plain``/``freeze`` helpers these use).
"""

from __future__ import annotations

from typing import Any

from regimeforge.adapters.storage.mapping import Row, frozen_map, plain
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.regimes import RegimeBest, RegimeBestChange, RegimeDefinition
from regimeforge.domain.states import ItemStatus, QueueStatus


def regime_values(regime: RegimeDefinition) -> dict[str, Any]:
    """Column values of a regime definition."""
    return {
        "regime_name": regime.name,
        "description": regime.description,
        "detector": regime.detector,
        "detection_rules": plain(regime.detection_rules, "detection_rules"),
        "priority": regime.priority,
        "is_active": regime.is_active,
        "created_at": regime.created_at,
    }


def regime_from_row(row: Row) -> RegimeDefinition:
    """A regime definition from its row."""
    return RegimeDefinition(
        name=row["regime_name"],
        detection_rules=frozen_map(row["detection_rules"]),
        description=row["description"],
        detector=row["detector"],
        priority=int(row["priority"]),
        is_active=bool(row["is_active"]),
        created_at=row["created_at"],
    )


def best_values(best: RegimeBest, rank: int, run_id: int, backtest_id: int) -> dict[str, Any]:
    """Column values of a regime best at ``rank`` (keys resolved by the repository)."""
    return {
        "regime_name": best.regime_name,
        "rank": rank,
        "training_run_id": run_id,
        "inference_backtest_id": backtest_id,
        "performance_score": float(best.performance_score),
        "secondary_metrics": plain(best.secondary_metrics, "secondary_metrics"),
        "achieved_at": best.achieved_at,
    }


def best_from_row(row: Row) -> RegimeBest:
    """A regime best from its row joined with the run's and backtest's uuids."""
    return RegimeBest(
        regime_name=row["regime_name"],
        rank=int(row["rank"]),
        run_uuid=row["run_uuid"],
        backtest_uuid=row["backtest_uuid"],
        performance_score=float(row["performance_score"]),
        secondary_metrics=frozen_map(row["secondary_metrics"]),
        achieved_at=row["achieved_at"],
    )


def change_values(change: RegimeBestChange) -> dict[str, Any]:
    """Column values of a history fact."""
    return {
        "regime_name": change.regime_name,
        "change": change.change,
        "rank": change.rank,
        "run_uuid": change.run_uuid,
        "backtest_uuid": change.backtest_uuid,
        "performance_score": float(change.performance_score),
        "previous_score": change.previous_score,
        "previous_run_uuid": change.previous_run_uuid,
        "delta": change.delta,
        "percent": change.percent,
        "at": change.at,
    }


def change_from_row(row: Row) -> RegimeBestChange:
    """A history fact from its row."""
    return RegimeBestChange(
        regime_name=row["regime_name"],
        change=row["change"],
        rank=int(row["rank"]),
        run_uuid=row["run_uuid"],
        backtest_uuid=row["backtest_uuid"],
        performance_score=float(row["performance_score"]),
        previous_score=row["previous_score"],
        previous_run_uuid=row["previous_run_uuid"],
        delta=row["delta"],
        percent=row["percent"],
        at=row["at"],
    )


def queue_values(queue: TrainingQueue) -> dict[str, Any]:
    """Column values of a queue."""
    return {
        "queue_uuid": queue.queue_uuid,
        "name": queue.name,
        "config_grid": plain(queue.config_grid, "config_grid"),
        "inference_grid": plain(queue.inference_grid, "inference_grid"),
        "total_configs": queue.total_configs,
        "current_index": queue.current_index,
        "status": queue.status.value,
        "completed_count": queue.completed_count,
        "failed_count": queue.failed_count,
        "skipped_count": queue.skipped_count,
        "consecutive_failures": queue.consecutive_failures,
        "priority": queue.priority,
        "max_parallel": queue.max_parallel,
        "pause_requested": queue.pause_requested,
        "cancel_requested": queue.cancel_requested,
        "coordinator_host": queue.coordinator_host,
        "coordinator_pid": queue.coordinator_pid,
        "heartbeat_at": queue.heartbeat_at,
        "message": queue.message,
        "created_at": queue.created_at,
        "started_at": queue.started_at,
        "completed_at": queue.completed_at,
        "updated_at": queue.updated_at,
    }


def queue_from_row(row: Row) -> TrainingQueue:
    """A queue from its row."""
    return TrainingQueue(
        queue_uuid=row["queue_uuid"],
        name=row["name"],
        config_grid=frozen_map(row["config_grid"]),
        total_configs=int(row["total_configs"]),
        status=QueueStatus(row["status"]),
        current_index=int(row["current_index"]),
        completed_count=int(row["completed_count"]),
        failed_count=int(row["failed_count"]),
        skipped_count=int(row["skipped_count"]),
        priority=int(row["priority"]),
        max_parallel=int(row["max_parallel"]),
        inference_grid=frozen_map(row["inference_grid"]),
        pause_requested=bool(row["pause_requested"]),
        cancel_requested=bool(row["cancel_requested"]),
        coordinator_host=row["coordinator_host"],
        coordinator_pid=row["coordinator_pid"],
        heartbeat_at=row["heartbeat_at"],
        consecutive_failures=int(row["consecutive_failures"]),
        message=row["message"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        updated_at=row["updated_at"],
    )


def item_values(item: QueueItem) -> dict[str, Any]:
    """Column values of a queue item (``queue_id`` and ``training_run_id`` resolved elsewhere)."""
    return {
        "item_index": item.index,
        "config_hash": item.config_hash,
        "status": item.status.value,
        "attempts": item.attempts,
        "claimed_by": item.claimed_by,
        "heartbeat_at": item.heartbeat_at,
        "run_uuid": item.run_uuid,
        "error": item.error,
    }


def item_from_row(row: Row, queue_uuid: str) -> QueueItem:
    """A queue item from its row and its queue's uuid."""
    return QueueItem(
        queue_uuid=queue_uuid,
        index=int(row["item_index"]),
        config_hash=row["config_hash"],
        status=ItemStatus(row["status"]),
        attempts=int(row["attempts"]),
        claimed_by=row["claimed_by"],
        heartbeat_at=row["heartbeat_at"],
        run_uuid=row["run_uuid"],
        error=row["error"],
    )
