"""``regimeforge init`` and ``db``: the workspace contract of DESIGN §14, run as a user would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_helpers import assert_bad_input, rf, tree

DEFAULT_REGIMES = {"bull_trending", "bear_trending", "volatile_ranging", "calm_ranging"}


def regimes_in(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("select regime_name from regime_definitions")}


def test_init_creates_the_workspace_layout_and_migrated_database(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    result = rf("init", ws)
    assert result.returncode == 0, result.stderr
    assert (ws / "training_pipeline.yaml").is_file()
    assert (ws / "artifacts").is_dir() and (ws / "checkpoints").is_dir()
    assert regimes_in(ws / "regimeforge.db") == DEFAULT_REGIMES
    packaged = Path(__file__).resolve().parents[2] / "configs" / "training_pipeline.yaml"
    assert (ws / "training_pipeline.yaml").read_text() == packaged.read_text()
    assert str(ws) in result.stdout

    current = rf("db", "current", "--workspace", ws)
    assert current.returncode == 0, current.stderr
    head = current.stdout.strip().rsplit(" ", 1)[-1]
    assert head not in ("", "base")

    down = rf("db", "downgrade", "base", "--workspace", ws)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip().endswith("at revision base")
    with sqlite3.connect(ws / "regimeforge.db") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert "regime_definitions" not in tables

    up = rf("db", "upgrade", env={"REGIMEFORGE_WORKSPACE": str(ws)})
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip().endswith(f"at revision {head}")
    assert regimes_in(ws / "regimeforge.db") == DEFAULT_REGIMES


def test_init_refuses_an_existing_workspace_without_force(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert rf("init", ws).returncode == 0
    settings = ws / "training_pipeline.yaml"
    settings.write_text("seed: 42\n")
    line = assert_bad_input(rf("init", ws))
    assert "already exists" in line and "--force" in line
    assert settings.read_text() == "seed: 42\n"
    forced = rf("init", ws, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "seed: 0" in settings.read_text()


def test_init_with_invalid_settings_writes_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    line = assert_bad_input(rf("init", ws, env={"REGIMEFORGE_MAX_PARALLEL": "zero"}))
    assert "max_parallel" in line
    assert not ws.exists()


def test_init_that_cannot_reach_its_database_leaves_nothing_half_made(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    bad_url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    result = rf("init", ws, env={"REGIMEFORGE_DATABASE_URL": bad_url})
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr
    assert not ws.exists()


def test_init_in_an_existing_folder_keeps_its_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = rf("init", "--workspace", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert {"training_pipeline.yaml", "regimeforge.db", "artifacts"} <= tree(tmp_path)


def test_db_commands_refuse_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    line = assert_bad_input(rf("db", "current", "--workspace", tmp_path))
    assert "not a RegimeForge workspace" in line and "regimeforge init" in line
    assert tree(tmp_path) == set()


@pytest.mark.postgres
def test_init_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    import sqlalchemy as sa

    ws = tmp_path / "ws"
    result = rf("init", ws, env={"REGIMEFORGE_DATABASE_URL": pg_url})
    assert result.returncode == 0, result.stderr
    assert not (ws / "regimeforge.db").exists()
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(sa.text("select regime_name from regime_definitions"))}
    engine.dispose()
    assert names == DEFAULT_REGIMES
    current = rf("db", "current", "--workspace", ws, env={"REGIMEFORGE_DATABASE_URL": pg_url})
    assert current.returncode == 0, current.stderr
    assert current.stdout.startswith("postgresql+psycopg://")
