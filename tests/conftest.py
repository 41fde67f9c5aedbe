"""Shared fixtures for every layer of the test suite.

PostgreSQL tests read REGIMEFORGE_TEST_PG_URL (default: the local server's ``test`` database)
and FAIL, never skip, when the server cannot be reached: CI must not pass without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from regimeforge.domain.catalog import BUILTIN_INDICATORS, ConfigCatalog

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder with the real market data files (EURUSD_H1.csv, GOOG_D1.csv)."""
    if not (SHARED_DATA / "EURUSD_H1.csv").exists():
        pytest.fail(f"real market data missing: expected {SHARED_DATA}/EURUSD_H1.csv")
    return SHARED_DATA


@pytest.fixture
def catalog() -> ConfigCatalog:
    """A config catalog with the built-in names (no plugin manager needed)."""
    return ConfigCatalog(
        model_types={
            "ridge": {"alpha": 1.0},
            "lasso": {"alpha": 0.001},
            "elasticnet": {"alpha": 0.001, "l1_ratio": 0.5},
            "rf": {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 20},
        },
        encoders={"none": {}, "pca": {"n_components": 0.95}},
        indicators=BUILTIN_INDICATORS,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'regimeforge.db'}"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the PostgreSQL server for tests; fails the test when it is unreachable."""
    url = os.environ.get("REGIMEFORGE_TEST_PG_URL", DEFAULT_PG_URL)
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect must fail, not skip
        pytest.fail(
            f"PostgreSQL is unreachable at {url}: {exc}. Start it or set REGIMEFORGE_TEST_PG_URL."
        )
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    name = f"rf_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    f" WHERE datname = '{name}'"
                )
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
