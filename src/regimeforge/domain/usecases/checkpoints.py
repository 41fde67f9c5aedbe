"""Checkpoint payloads: what a checkpoint file holds, its checksum, and its validation.

A checkpoint is JSON with the fields of the original plan (``queue_uuid``, ``checkpoint_version``,
``created_at``, ``config_grid``, ``current_index``, ``total_configs``, ``completed_runs``,
``failed_runs``, ``regime_bests``, ``statistics``) plus ``checksum``: the SHA-256 of the
canonical JSON (``domain.canonical``) of every other field. The database stays the source of
truth (each item is recorded in one transaction, so it is never behind a checkpoint); a
checkpoint is a verifiable snapshot for audits, for ``resume --checkpoint`` cross-checks and for
people. Building and checking payloads is pure; files are the ``CheckpointStore`` adapter's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from regimeforge.domain.canonical import normalise, sha256_of
from regimeforge.domain.entities import QueueItem, TrainingQueue
from regimeforge.domain.errors import CheckpointError
from regimeforge.domain.regimes import RegimeBest
from regimeforge.domain.states import ItemStatus

#: Bumped whenever the payload's fields change meaning; other versions are refused.
CHECKPOINT_VERSION = 1

#: Every field a payload must have (besides ``checksum``), with its JSON type.
FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "queue_uuid": str,
    "checkpoint_version": int,
    "created_at": str,
    "config_grid": dict,
    "current_index": int,
    "total_configs": int,
    "completed_runs": list,
    "failed_runs": list,
    "regime_bests": dict,
    "statistics": dict,
}


@attrs.frozen
class Checkpoint:
    """A validated checkpoint payload (see the module docstring for the fields)."""

    queue_uuid: str
    created_at: datetime
    config_grid: Mapping[str, Any]
    current_index: int
    total_configs: int
    completed_runs: tuple[Mapping[str, Any], ...]
    failed_runs: tuple[Mapping[str, Any], ...]
    regime_bests: Mapping[str, Any]
    statistics: Mapping[str, Any]
    checksum: str


def checksum_of(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``payload`` without its ``checksum`` field."""
    return sha256_of({k: v for k, v in payload.items() if k != "checksum"})


def build_checkpoint(
    queue: TrainingQueue,
    items: Iterable[QueueItem],
    bests: Mapping[str, Sequence[RegimeBest]],
    statistics: Mapping[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """The payload (with checksum) of ``queue`` now: finished items and the regime bests."""
    completed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        entry = {"index": item.index, "config_hash": item.config_hash, "run_uuid": item.run_uuid}
        if item.status in (ItemStatus.COMPLETED, ItemStatus.SKIPPED):
            completed.append({**entry, "status": item.status.value})
        elif item.status is ItemStatus.FAILED:
            failed.append({**entry, "error": item.error or ""})
    payload: dict[str, Any] = {
        "queue_uuid": queue.queue_uuid,
        "checkpoint_version": CHECKPOINT_VERSION,
        "created_at": at.isoformat(),
        "config_grid": normalise(queue.config_grid),
        "current_index": queue.current_index,
        "total_configs": queue.total_configs,
        "completed_runs": completed,
        "failed_runs": failed,
        "regime_bests": {
            regime: [
                {
                    "rank": b.rank,
                    "run_uuid": b.run_uuid,
                    "backtest_uuid": b.backtest_uuid,
                    "performance_score": b.performance_score,
                }
                for b in sorted(entries, key=lambda b: b.rank)
            ]
            for regime, entries in sorted(bests.items())
        },
        "statistics": normalise(statistics),
    }
    payload["checksum"] = checksum_of(payload)
    return payload


def validate_checkpoint(payload: Any, *, source: str = "checkpoint") -> Checkpoint:
    """Check fields, version and checksum; CheckpointError with a clear message otherwise."""
    if not isinstance(payload, Mapping):
        raise CheckpointError(f"{source}: not a checkpoint (expected a JSON object)")
    version = payload.get("checkpoint_version")
    if "checkpoint_version" in payload and version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{source}: checkpoint version {version!r} is not supported (this RegimeForge "
            f"reads version {CHECKPOINT_VERSION}); resume from the database state instead"
        )
    missing = [name for name in (*FIELDS, "checksum") if name not in payload]
    if missing:
        raise CheckpointError(
            f"{source}: missing field(s) {', '.join(missing)}; the file is truncated or not a "
            "RegimeForge checkpoint"
        )
    wrong = [
        name
        for name, kind in FIELDS.items()
        if not isinstance(payload[name], kind) or isinstance(payload[name], bool)
    ]
    if wrong:
        raise CheckpointError(f"{source}: field(s) {', '.join(wrong)} have the wrong type")
    try:
        expected = checksum_of(payload)
    except ValueError as exc:
        raise CheckpointError(f"{source}: not canonical JSON data ({exc})") from None
    if payload["checksum"] != expected:
        raise CheckpointError(
            f"{source}: checksum mismatch (the file was changed or damaged after it was written)"
        )
    try:
        created = datetime.fromisoformat(payload["created_at"])
    except ValueError:
        raise CheckpointError(
            f"{source}: created_at {payload['created_at']!r} is no time"
        ) from None
    return Checkpoint(
        queue_uuid=payload["queue_uuid"],
        created_at=created,
        config_grid=payload["config_grid"],
        current_index=payload["current_index"],
        total_configs=payload["total_configs"],
        completed_runs=tuple(payload["completed_runs"]),
        failed_runs=tuple(payload["failed_runs"]),
        regime_bests=payload["regime_bests"],
        statistics=payload["statistics"],
        checksum=payload["checksum"],
    )
