"""The outer loop resolves a ``latents`` reference (run id or model-file hash) to a stored file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fake_storage import FakeDatabase
from regimeforge.adapters import encoder_sources as es
from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog
from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import TrainingRun
from regimeforge.domain.errors import ConfigError
from regimeforge.domain.states import RunStatus

CATALOG = ConfigCatalog(
    model_types={"ridge": {"alpha": 1.0}},
    encoders={"none": {}, "latents": {"run_id": "", "artifact_hash": ""}},
    indicators=BUILTIN_INDICATORS,
)


def config(encoder: str = "latents", **params: str) -> ModelConfig:
    return ModelConfig.from_mapping(
        {"model_type": "ridge", "encoder": encoder, "symbol": "EUR/USD", "base_timeframe": "1h",
         "days_history": 365, "horizon": 3, "encoder_params": params},
        CATALOG,
    )  # fmt: skip


def stored_runs(count: int, *, kept: bool = True) -> FakeDatabase:
    db = FakeDatabase()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(count):
        run = TrainingRun(
            run_uuid=f"run{i:03d}",
            config=config("none"),
            config_hash=f"{i:064x}",
            status=RunStatus.COMPLETED,
            model_file_path=f"ab/ab{i:030x}.model",
            model_file_sha256=f"{i + 1:064x}",
            is_model_kept=kept,
            created_at=start + timedelta(minutes=i),
        )
        db.tables["runs"][run.run_uuid] = run
    return db


def test_a_config_without_a_reference_needs_no_source() -> None:
    assert es.resolve(stored_runs(1).uow, config("none")) is None


def test_a_run_id_resolves_to_its_model_file() -> None:
    source = es.resolve(stored_runs(3).uow, config(run_id="run001"))
    assert source == {"name": f"ab/ab{1:030x}.model", "sha256": f"{2:064x}", "run_uuid": "run001"}


def test_an_artifact_hash_is_found_across_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(es, "PAGE", 2)
    source = es.resolve(stored_runs(5).uow, config(artifact_hash=f"{5:064X}"))
    assert source is not None and source["run_uuid"] == "run004"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"run_id": "nope"}, "run_id"), ({"artifact_hash": "f" * 64}, "artifact_hash")],
)
def test_an_unknown_reference_names_its_parameter(params: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError, match=f"encoder_params.{field}"):
        es.resolve(stored_runs(2).uow, config(**params))


def test_a_run_whose_model_file_is_gone_is_refused() -> None:
    with pytest.raises(ConfigError, match="has no model file"):
        es.resolve(stored_runs(1, kept=False).uow, config(run_id="run000"))


def test_the_resolver_asks_the_database_once_per_reference() -> None:
    db = stored_runs(2)
    opened = []

    def uow():  # type: ignore[no-untyped-def]
        opened.append(1)
        return db.uow()

    sources = es.EncoderSources(uow)
    first = sources(config(run_id="run000"))
    assert sources(config(run_id="run000")) == first and len(opened) == 1
    assert sources(config("none")) is None and len(opened) == 1
