"""Where an encoder that reuses a stored model (``latents``) finds it: run id or hash -> file.

The coordinator side resolves ``encoder_params.run_id`` or ``encoder_params.artifact_hash`` to
the model file of a completed run whose model is kept (its artifact name and recorded SHA-256)
and hands that to the worker in its spec; the worker opens the file through the artifact store,
which verifies the hash, and passes the bytes to ``build_trainer(..., encoder_source=...)``.
Workers never touch the database (docs/models.md, "The latents encoder").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import ConfigError, NotFoundError, Problem
from regimeforge.domain.ports import RunFilter, UnitOfWork

#: Runs read per query while looking for a model file's hash.
PAGE = 1000


def reference_of(config: ModelConfig) -> tuple[str, str] | None:
    """``("run_id", ...)`` or ``("artifact_hash", ...)`` from the encoder params, else None."""
    params = config.encoder_params
    for key in ("run_id", "artifact_hash"):
        value = str(params.get(key) or "").strip()
        if value:
            return key, value.lower() if key == "artifact_hash" else value
    return None


def _by_hash(uow: UnitOfWork, digest: str) -> TrainingRun | None:
    offset = 0
    while True:
        page = uow.runs.list(RunFilter(kept=True), limit=PAGE, offset=offset, order_by="created_at")
        for run in page:
            if run.model_file_sha256 == digest:
                return run
        if len(page) < PAGE:
            return None
        offset += PAGE


def resolve(uow_factory: Callable[[], UnitOfWork], config: ModelConfig) -> dict[str, str] | None:
    """The stored model file ``config``'s encoder reuses: ``{name, sha256, run_uuid}`` or None.

    ConfigError naming the parameter when the run is unknown, unfinished or its file is gone.
    """
    found = reference_of(config)
    if found is None:
        return None
    key, value = found
    path = f"encoder_params.{key}"
    with uow_factory() as uow:
        try:
            run = uow.runs.get(value) if key == "run_id" else _by_hash(uow, value)
        except NotFoundError:
            run = None
    if run is None:
        raise ConfigError(
            [Problem(path, f"no stored model has {key} {value}", "see regimeforge runs list")]
        )
    if not run.model_file_path or not run.model_file_sha256 or not run.is_model_kept:
        raise ConfigError(
            [
                Problem(
                    path,
                    f"run {run.run_uuid} has no model file (status {run.status.value}; a model "
                    "outside every regime's top-N is deleted when delete_non_best_models is on)",
                    "reference a completed run whose model is kept",
                )
            ]
        )
    return {"name": run.model_file_path, "sha256": run.model_file_sha256, "run_uuid": run.run_uuid}


class EncoderSources:
    """``resolve`` bound to a workspace's unit of work, cached per reference."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.uow_factory = uow_factory
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

    def __call__(self, config: ModelConfig) -> dict[str, str] | None:
        """The source of ``config``'s encoder (see :func:`resolve`)."""
        key = reference_of(config)
        if key is None:
            return None
        if key not in self._cache:
            source = resolve(self.uow_factory, config)
            assert source is not None
            self._cache[key] = source
        return dict(self._cache[key])


def encoder_sources_of(ws: Any) -> EncoderSources:
    """The resolver of workspace ``ws`` (its ``uow`` factory)."""
    return EncoderSources(ws.uow)
