"""The composition root: workspaces opened and initialised from settings, built lazily."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest

from regimeforge.adapters.clock import SystemClock
from regimeforge.bootstrap import init_workspace, open_workspace, workspace_root
from regimeforge.domain.errors import ConfigError


def test_workspace_root_prefers_path_then_env_then_cwd(tmp_path: Path) -> None:
    env = {"REGIMEFORGE_WORKSPACE": str(tmp_path / "from-env")}
    assert workspace_root(tmp_path / "given", env) == (tmp_path / "given").resolve()
    assert workspace_root(None, env) == (tmp_path / "from-env").resolve()
    assert workspace_root(None, {}) == Path.cwd().resolve()


def test_open_a_folder_without_settings_uses_defaults_relative_to_it(tmp_path: Path) -> None:
    with open_workspace(tmp_path, env={}, load_entry_points=False) as ws:
        assert ws.root == tmp_path.resolve()
        assert ws.settings.source is None
        assert ws.settings.database_url == f"sqlite:///{tmp_path.resolve()}/regimeforge.db"
        assert ws.settings.artifacts_dir == tmp_path.resolve() / "artifacts"
        assert {p.source for p in ws.registry.plugins} == {"built-in"}
        assert ws.registry is ws.registry  # a singleton per workspace
    assert list(tmp_path.iterdir()) == []  # opening builds nothing on disk


def test_settings_file_env_and_overrides_are_all_applied(tmp_path: Path) -> None:
    (tmp_path / "training_pipeline.yaml").write_text("seed: 3\nmax_parallel: 2\n")
    ws = open_workspace(
        tmp_path,
        env={"REGIMEFORGE_MAX_PARALLEL": "4"},
        settings_overrides={"keep_top_n_per_regime": 7},
        load_entry_points=False,
    )
    assert (ws.settings.seed, ws.settings.max_parallel, ws.settings.keep_top_n_per_regime) == (
        3,
        4,
        7,
    )
    assert ws.settings.source == (tmp_path / "training_pipeline.yaml").resolve()


def test_invalid_settings_fail_when_the_workspace_opens(tmp_path: Path) -> None:
    (tmp_path / "training_pipeline.yaml").write_text("max_parallel: -1\n")
    with pytest.raises(ConfigError, match="max_parallel"):
        open_workspace(tmp_path, env={})


def test_clock_is_aware_utc_and_monotonic(tmp_path: Path) -> None:
    ws = open_workspace(tmp_path, env={}, load_entry_points=False)
    assert isinstance(ws.clock, SystemClock)
    assert ws.clock.now().tzinfo is UTC
    first = ws.clock.monotonic()
    assert ws.clock.monotonic() >= first


def test_importing_the_root_builds_nothing() -> None:
    code = (
        "import sys, regimeforge.bootstrap as b\n"
        "heavy = [m for m in ('sqlalchemy', 'regimeforge.adapters.storage', 'torch') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_init_refuses_a_file_and_an_existing_workspace(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        init_workspace(afile, env={})
    (tmp_path / "training_pipeline.yaml").write_text("seed: 1\n")
    with pytest.raises(ConfigError, match="already exists"):
        init_workspace(tmp_path, env={})
    assert (tmp_path / "training_pipeline.yaml").read_text() == "seed: 1\n"


def test_init_builds_a_workspace_whose_uow_and_engine_work(tmp_path: Path) -> None:
    pytest.importorskip("regimeforge.adapters.storage.migrate", reason="storage not merged yet")
    with init_workspace(tmp_path / "ws", env={}, load_entry_points=False) as ws:
        assert (ws.root / "regimeforge.db").is_file()
        assert ws.settings.artifacts_dir.is_dir() and ws.settings.checkpoints_dir.is_dir()
        with ws.uow() as uow:
            names = {r.name for r in uow.regimes.list()}
        assert names == {"bull_trending", "bear_trending", "volatile_ranging", "calm_ranging"}
        assert ws.uow() is not ws.uow()
        assert ws.engine is ws.engine
