"""Checkpoint payloads: what a checkpoint file holds, its checksum, and its validation.

A checkpoint is JSON with the fields of the original plan (``queue_uuid``, ``checkpoint_version``,
``created_at``, ``config_grid``, ``current_index``, ``total_configs``, ``completed_runs``,
``failed_runs``, ``regime_bests``, ``statistics``) plus ``checksum``: the SHA-256 of the
canonical JSON (``domain.canonical``) of every other field. The database stays the source of
truth (each item is recorded in one transaction, so it is never behind a checkpoint); a
checkpoint is a verifiable snapshot for audits, for ``resume --checkpoint`` cross-checks and for
people. Building and checking payloads is pure; files are the ``CheckpointStore`` adapter's job.

A checkpoint lists every finished item, so building one from scratch costs time in proportion
to the work done: on a 10,000-config queue, a checkpoint every 10 models would read and encode
the whole list 1,000 times. ``FinishedLog`` keeps each finished item's canonical JSON entry
between checkpoints (a session reads the list from the database once, then adds the items it
finishes), and ``FinishedLog.document`` joins the entries into the canonical text whose SHA-256
is the checksum: the same text ``checksum_of`` hashes, without building the payload again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from regimeforge.domain.canonical import canonical_json, sha256_of
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


@attrs.frozen
class CheckpointDocument:
    """A checkpoint ready to be written: its queue, its time and its JSON text (with checksum)."""

    queue_uuid: str
    created_at: str
    text: str

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> CheckpointDocument:
        """The document of a payload in canonical JSON (its checksum is not recomputed)."""
        text = canonical_json(payload)
        return cls(str(payload["queue_uuid"]), str(payload.get("created_at", "")), text)


def _entry(item: QueueItem) -> tuple[bool, str] | None:
    """(completed?, canonical JSON) of a finished item's entry; None for an unfinished one."""
    entry = {"index": item.index, "config_hash": item.config_hash, "run_uuid": item.run_uuid}
    if item.status in (ItemStatus.COMPLETED, ItemStatus.SKIPPED):
        return True, canonical_json({**entry, "status": item.status.value})
    if item.status is ItemStatus.FAILED:
        return False, canonical_json({**entry, "error": item.error or ""})
    return None


class FinishedLog:
    """The finished items of one queue as canonical JSON entries, kept between checkpoints.

    ``reload`` takes every finished item (read from the database); ``add`` records one more
    item as it finishes. ``agrees_with`` compares the entries with the queue's counters, which
    every transaction that finishes an item updates with it: when another coordinator finished
    items too, or ``retry-failed`` sent failed ones back, the counts differ and the caller reloads.
    """

    def __init__(self) -> None:
        self._completed: dict[int, str] = {}  # completed and skipped items, by index
        self._failed: dict[int, str] = {}
        self.loaded = False

    def reload(self, items: Iterable[QueueItem]) -> None:
        """Start again from ``items`` (the unfinished ones are ignored)."""
        self._completed.clear()
        self._failed.clear()
        self.loaded = True
        for item in items:
            self.add(item)

    def add(self, item: QueueItem) -> None:
        """An item in its final state (an item finished again replaces its old entry)."""
        self._completed.pop(item.index, None)
        self._failed.pop(item.index, None)
        entry = _entry(item)
        if entry is not None:
            completed, text = entry
            (self._completed if completed else self._failed)[item.index] = text

    def agrees_with(self, queue: TrainingQueue) -> bool:
        """Loaded, and as many completed/skipped and failed entries as the queue counts."""
        return (
            self.loaded
            and len(self._completed) == queue.completed_count + queue.skipped_count
            and len(self._failed) == queue.failed_count
        )

    def document(
        self,
        queue: TrainingQueue,
        bests: Mapping[str, Sequence[RegimeBest]],
        statistics: Mapping[str, Any],
        at: datetime,
    ) -> CheckpointDocument:
        """The checkpoint of ``queue`` now: its text is canonical JSON plus the checksum."""
        fields = {
            "queue_uuid": canonical_json(queue.queue_uuid),
            "checkpoint_version": canonical_json(CHECKPOINT_VERSION),
            "created_at": canonical_json(at.isoformat()),
            "config_grid": canonical_json(queue.config_grid),
            "current_index": canonical_json(queue.current_index),
            "total_configs": canonical_json(queue.total_configs),
            "completed_runs": _join(self._completed),
            "failed_runs": _join(self._failed),
            "regime_bests": canonical_json(_bests(bests)),
            "statistics": canonical_json(statistics),
        }
        body = ",".join(f"{json.dumps(name)}:{fields[name]}" for name in sorted(fields))
        checksum = hashlib.sha256(f"{{{body}}}".encode("ascii")).hexdigest()
        text = f'{{"checksum":"{checksum}",{body}}}'
        return CheckpointDocument(queue.queue_uuid, at.isoformat(), text)


def _join(entries: Mapping[int, str]) -> str:
    return "[" + ",".join(entries[index] for index in sorted(entries)) + "]"


def _bests(bests: Mapping[str, Sequence[RegimeBest]]) -> dict[str, list[dict[str, Any]]]:
    return {
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
    }


def build_checkpoint(
    queue: TrainingQueue,
    items: Iterable[QueueItem],
    bests: Mapping[str, Sequence[RegimeBest]],
    statistics: Mapping[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """The payload (with checksum) of ``queue`` now: finished items and the regime bests."""
    log = FinishedLog()
    log.reload(items)
    payload: dict[str, Any] = json.loads(log.document(queue, bests, statistics, at).text)
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
