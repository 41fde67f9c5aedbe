"""Model-file housekeeping: ``models cleanup`` and ``models compress``.

**Cleanup.** The database says which files must exist: those of runs whose ``is_model_kept`` is
set. A stored file no such run names is an *orphan* (a worker's file whose recording failed or
crashed, a file whose deletion failed after its run left every top-N, the file of a deleted run)
and is deleted. A kept run whose file is gone gets ``is_model_kept`` cleared, its ranks removed
from every top-N (history change ``file_missing``) and the fact recorded in its
``error_message`` (starting with ``MISSING_NOTE``; ``models storage`` counts those as *lost*,
not freed). The store only lists regular files inside its root (never symbolic links), so
nothing outside ``artifacts_dir`` is ever touched. Files being recorded by a running queue would
look like orphans for a moment: the caller passes ``spare`` to leave young files alone then.

**Compress.** Kept files of runs completed before a time are rewritten gzipped by the store,
atomically; the recorded SHA-256 is of the uncompressed payload, so it stays valid and loading
is unchanged. Each file is verified against its record *before* it is rewritten (a corrupt file
is reported, never compressed). The runs' recorded sizes become the bytes now on disk.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import attrs

from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import ArtifactIntegrityError, NotFoundError, StorageError
from regimeforge.domain.ports import ArtifactInfo, ArtifactStore, RunFilter, UnitOfWork
from regimeforge.domain.usecases.ranks import FILE_MISSING, drop_ranks

#: How ``models cleanup`` records a kept run whose file was missing (start of error_message).
MISSING_NOTE = "model file missing"
_ALL = 10**9


class CompressingStore(ArtifactStore, Protocol):
    """An artifact store that can rewrite a file compressed (``FilesystemArtifactStore``)."""

    def compress(self, name: str) -> ArtifactInfo:
        """Rewrite ``name`` compressed, atomically; its content hash is unchanged."""

    def is_compressed(self, name: str) -> bool:
        """Whether ``name`` is stored compressed already."""


def _kept_runs(uow: UnitOfWork) -> builtins.list[TrainingRun]:
    return uow.runs.list(RunFilter(kept=True), limit=_ALL, order_by="created_at")


@attrs.frozen
class CleanupPlan:
    """Orphan files (to delete), young files left alone, kept runs whose file is missing."""

    orphans: tuple[str, ...]
    orphan_bytes: int
    spared: tuple[str, ...]
    missing: tuple[TrainingRun, ...]


@attrs.frozen
class CleanupResult:
    """What ``apply_cleanup`` did."""

    deleted: tuple[str, ...]
    freed_bytes: int
    marked: tuple[str, ...]  # runs whose kept flag was cleared
    regimes: tuple[str, ...]  # regimes that lost a rank
    failed: tuple[tuple[str, str], ...]  # (file, why)


def plan_cleanup(
    uow: UnitOfWork, artifacts: ArtifactStore, *, spare: Callable[[str], bool] = lambda _: False
) -> CleanupPlan:
    """Compare the store with the kept runs (files are listed first, then the database read)."""
    stored = artifacts.list()
    with uow:
        kept = _kept_runs(uow)
    named = {r.model_file_path for r in kept if r.model_file_path}
    orphans, spared, size = [], [], 0
    for name in stored:
        if name in named:
            continue
        if spare(name):
            spared.append(name)
            continue
        try:
            size += artifacts.size(name)
        except NotFoundError:  # gone meanwhile
            continue
        orphans.append(name)
    on_disk = set(stored)
    missing = tuple(r for r in kept if not r.model_file_path or r.model_file_path not in on_disk)
    return CleanupPlan(tuple(orphans), size, tuple(spared), missing)


def _there(artifacts: ArtifactStore, name: str) -> bool:
    try:
        return artifacts.exists(name)
    except StorageError:  # e.g. a link leading out of the store: not ours to judge, left alone
        return True


def apply_cleanup(
    uow: UnitOfWork, artifacts: ArtifactStore, plan: CleanupPlan, *, at: datetime
) -> CleanupResult:
    """Record the missing files (one transaction), then delete the orphans still unnamed."""
    with uow:
        marked = []
        for old in plan.missing:
            run = uow.runs.get(old.run_uuid)
            path = run.model_file_path
            if not run.is_model_kept or (path and _there(artifacts, path)):
                continue  # changed since the plan
            when = at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
            note = f"{MISSING_NOTE}: {path or '(no path)'}; is_model_kept cleared at {when}"
            uow.runs.update(
                attrs.evolve(
                    run, is_model_kept=False, best_regimes=(), error_message=note, updated_at=at
                )
            )
            marked.append(run.run_uuid)
        removal = drop_ranks(uow.bests.all(), set(marked), at=at, change=FILE_MISSING)
        for regime, top in removal.tops.items():
            uow.bests.replace(regime, top)
        uow.bests.add_history(removal.changes)
        named = {r.model_file_path for r in _kept_runs(uow)}
        uow.commit()
    deleted, failed, freed = [], [], 0
    for name in plan.orphans:
        if name in named:
            continue  # recorded since the plan
        try:
            freed += artifacts.delete(name)
        except Exception as exc:
            failed.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        deleted.append(name)
    return CleanupResult(tuple(deleted), freed, tuple(marked), removal.regimes, tuple(failed))


@attrs.frozen
class CompressedFile:
    """One kept file considered by ``compress_models``; ``after`` is None unless rewritten.

    ``status``: ``compressed``, ``would compress`` (dry run), ``already`` (compressed before),
    ``missing`` (run ``models cleanup``) or ``corrupt`` (its hash does not match; left alone).
    """

    run_uuid: str
    name: str
    before: int
    after: int | None
    status: str


@attrs.frozen
class CompressReport:
    """Every file considered and the bytes saved."""

    files: tuple[CompressedFile, ...]

    @property
    def saved_bytes(self) -> int:
        """Bytes on disk before minus after, over the files rewritten."""
        return sum(f.before - f.after for f in self.files if f.after is not None)

    def count(self, status: str) -> int:
        """How many files have ``status``."""
        return sum(1 for f in self.files if f.status == status)


def _compress_one(artifacts: CompressingStore, run: TrainingRun, dry_run: bool) -> CompressedFile:
    name, sha = str(run.model_file_path), str(run.model_file_sha256)
    try:
        before = artifacts.size(name)
        if artifacts.is_compressed(name):
            return CompressedFile(run.run_uuid, name, before, None, "already")
        artifacts.open(name, sha)  # verified before anything is rewritten
    except NotFoundError:
        return CompressedFile(run.run_uuid, name, 0, None, "missing")
    except ArtifactIntegrityError:
        return CompressedFile(run.run_uuid, name, before, None, "corrupt")
    if dry_run:
        return CompressedFile(run.run_uuid, name, before, None, "would compress")
    info = artifacts.compress(name)
    return CompressedFile(run.run_uuid, name, before, info.size_bytes, "compressed")


def compress_models(
    uow: UnitOfWork,
    artifacts: CompressingStore,
    *,
    completed_before: datetime,
    at: datetime,
    dry_run: bool = False,
) -> CompressReport:
    """Compress the kept files of runs completed before ``completed_before``."""
    with uow:
        runs = [
            r
            for r in _kept_runs(uow)
            if r.model_file_path
            and r.completed_at is not None
            and r.completed_at < completed_before
        ]
    files: list[CompressedFile] = []
    try:
        for run in runs:
            files.append(_compress_one(artifacts, run, dry_run))
    finally:  # record the sizes of what was rewritten, even when interrupted
        done = {f.run_uuid: f.after for f in files if f.after is not None}
        if done:
            with uow:
                for run_uuid, size in done.items():
                    run = uow.runs.get(run_uuid)
                    uow.runs.update(attrs.evolve(run, model_file_size_bytes=size, updated_at=at))
                uow.commit()
    return CompressReport(tuple(files))
