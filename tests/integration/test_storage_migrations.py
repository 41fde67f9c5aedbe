"""Alembic owns the schema: up from empty, down to base, up again, on SQLite and PostgreSQL;
the ORM rows and the migrations agree; the four default regimes are seeded."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from regimeforge.adapters.storage import migrate
from regimeforge.adapters.storage.engine import make_engine
from regimeforge.adapters.storage.rows import Base
from regimeforge.domain.errors import StorageError
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "training_runs",
    "inference_backtests",
    "regime_definitions",
    "regime_best_models",
    "regime_best_history",
    "training_queue",
    "training_queue_items",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _regimes(url: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(
                *(
                    sa.column(c)
                    for c in (
                        "regime_name",
                        "description",
                        "detector",
                        "detection_rules",
                        "priority",
                        "is_active",
                    )
                )
            ).select_from(sa.table("regime_definitions"))
            rows = conn.execute(query.order_by(sa.column("priority"))).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def test_upgrade_downgrade_upgrade_from_empty(db_url: str) -> None:
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    head = migrate.current(db_url)
    assert head == "0001_initial"
    assert _tables(db_url) == TABLES == {t.name for t in Base.metadata.sorted_tables}
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    assert _tables(db_url) == set()
    migrate.upgrade(db_url, "head")
    assert migrate.current(db_url) == head
    assert _tables(db_url) == TABLES
    assert migrate.check_schema_matches(db_url) == []


def test_the_default_regimes_are_seeded_with_their_rules(db_url: str) -> None:
    migrate.upgrade(db_url)
    expected = [
        (r.name, r.description, r.detector, dict(r.detection_rules), r.priority, True)
        for r in DEFAULT_REGIME_DEFINITIONS
    ]
    stored = _regimes(db_url)
    assert [(n, d, det, _json(rules), p, bool(a)) for n, d, det, rules, p, a in stored] == expected


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_the_schema_check_notices_a_database_that_differs(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_training_runs_model_type"))
            conn.execute(sa.text("ALTER TABLE training_queue ADD COLUMN surprise INTEGER"))
    finally:
        engine.dispose()
    diffs = migrate.check_schema_matches(db_url)
    assert any("ix_training_runs_model_type" in d for d in diffs)
    assert any("surprise" in d for d in diffs)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


def test_a_new_sqlite_database_gets_8_kib_pages_and_an_old_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    import sqlite3

    old = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(old)) as conn:  # made before: 4 KiB pages
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
    sizes = {}
    for name in ("new.db", "old.db"):
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS u (x)")
                sizes[name] = conn.exec_driver_sql("PRAGMA page_size").scalar()
        finally:
            engine.dispose()
    assert sizes == {"new.db": 8192, "old.db": 4096}


def test_asking_a_missing_sqlite_database_for_its_revision_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    assert migrate.current(f"sqlite:///{path}") is None
    assert not path.exists()


def test_an_unreachable_database_is_a_storage_error() -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    with pytest.raises(StorageError, match="upgrade of postgresql"):
        migrate.upgrade(url)


def test_the_alembic_command_line_uses_the_packaged_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIMEFORGE_")}
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]
    up = subprocess.run(
        [*alembic, "-x", f"url={url}", "upgrade", "head"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    now = subprocess.run(
        [*alembic, "current"],
        cwd=tmp_path,
        env={**env, "REGIMEFORGE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert now.returncode == 0, now.stderr
    assert "0001_initial (head)" in now.stdout
