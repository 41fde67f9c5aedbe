"""Settings: defaults, validation with key paths, YAML errors, env overrides, path resolution."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from regimeforge.adapters.settings import DEFAULTS, load_settings
from regimeforge.domain.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "training_pipeline.yaml"
PACKAGED = REPO / "src" / "regimeforge" / "resources" / "training_pipeline.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "training_pipeline.yaml"
    path.write_text(text)
    return path


def paths_of(exc: pytest.ExceptionInfo[ConfigError]) -> set[str]:
    return {p.path for p in exc.value.problems}


def test_default_file_and_packaged_copy_are_identical() -> None:
    assert CONFIG.read_bytes() == PACKAGED.read_bytes()


def test_default_file_holds_exactly_the_defaults() -> None:
    assert yaml.safe_load(CONFIG.read_text()) == dict(DEFAULTS)


def test_every_key_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    missing = [key for key in DEFAULTS if f"`{key}`" not in doc]
    assert not missing, f"docs/configuration.md lacks {missing}"


def test_defaults_load_and_resolve_against_the_workspace(tmp_path: Path) -> None:
    s = load_settings(CONFIG, {}, root=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'regimeforge.db'}"
    assert s.artifacts_dir == tmp_path.resolve() / "artifacts"
    assert s.checkpoints_dir == tmp_path.resolve() / "checkpoints"
    assert len(s.inference_grid) == 135
    assert s.inference_grid.confidence_threshold == (0.0, 0.3, 0.5, 0.7, 0.9)
    assert s.primary_metric == "sharpe" and s.min_bars_per_regime == 50
    assert s.min_trades_per_regime == 5 and s.executor == "inline"
    assert s.split.train == 0.6 and s.split.test == pytest.approx(0.2)
    assert s.regimes["significance"]["confidence"] == 0.95
    assert s.plugins.entry_points is True and s.plugins.allow == ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.seed = 3  # type: ignore[misc]


def test_file_values_merge_over_defaults_and_relative_to_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "artifacts_dir: /abs/models\nsplit: {train: 0.7}\nkeep_top_n_per_regime: 5\n"
    )
    s = load_settings(path, {})
    assert s.artifacts_dir == Path("/abs/models")
    assert s.split.train == 0.7 and s.split.validation == 0.2
    assert s.keep_top_n_per_regime == 5
    assert s.checkpoints_dir == tmp_path.resolve() / "checkpoints"
    assert s.source == path.resolve()


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "keep_top_n_per_regime: zero\n"
        "max_parallel: 0\n"
        "no_such_key: 1\n"
        "regimes: {significance: {confidence: 1.5}}\n"
        "inference_grid: {prediction_method: [direct, sideways], lookback_window: [10]}\n"
        "costs: {symbols: {EUR/USD: {spread_bps: -1}}}\n"
        "auto_resume_on_crash: maybe\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(path, {})
    assert paths_of(exc) == {
        "keep_top_n_per_regime",
        "max_parallel",
        "no_such_key",
        "regimes.significance.confidence",
        "inference_grid.prediction_method[1]",
        "inference_grid.lookback_window[0]",
        "costs.symbols.EUR/USD.spread_bps",
        "auto_resume_on_crash",
    }
    assert str(path) in str(exc.value)
    assert "unknown key" in str(exc.value)


def test_split_must_leave_a_test_segment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, "split: {train: 0.8, validation: 0.2}\n"), {})
    assert paths_of(exc) == {"split.validation"}


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\nsplit: {train: 0.6\nmax_parallel: 2\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path, {})
    message = str(exc.value)
    assert "line 3, column" in message and "malformed YAML" in message
    assert "\n" not in message


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(write(tmp_path, "- just\n- a list\n"), {})


def test_env_overrides_each_top_level_key(tmp_path: Path) -> None:
    env = {
        "REGIMEFORGE_DETECT_CRASH_AFTER_MINUTES": "5",
        "REGIMEFORGE_DATABASE_URL": "postgresql+psycopg://u:secret@db:5432/rf#x",
        "REGIMEFORGE_AUTO_RESUME_ON_CRASH": "true",
        "REGIMEFORGE_SPLIT": "{train: 0.5}",
        "REGIMEFORGE_REGIMES__SIGNIFICANCE__ENABLED": "yes",
        "REGIMEFORGE_WORKSPACE": "/ignored",
        "OTHER": "x",
    }
    s = load_settings(CONFIG, env, root=tmp_path)
    assert s.detect_crash_after_minutes == 5.0
    assert s.database_url == "postgresql+psycopg://u:secret@db:5432/rf#x"
    assert s.auto_resume_on_crash is True
    assert s.split.train == 0.5 and s.split.validation == 0.2
    assert s.regimes["significance"]["enabled"] is True


def test_bad_env_override_names_the_key(tmp_path: Path) -> None:
    env = {"REGIMEFORGE_MAX_PARALLEL": "many", "REGIMEFORGE_SEED": "[unclosed"}
    with pytest.raises(ConfigError) as exc:
        load_settings(None, env, root=tmp_path)
    assert paths_of(exc) == {"max_parallel", "seed"}
    assert "REGIMEFORGE_SEED" in str(exc.value)


def test_programmatic_overrides_win_over_env(tmp_path: Path) -> None:
    s = load_settings(
        None, {"REGIMEFORGE_SEED": "1"}, root=tmp_path, overrides={"seed": 7, "executor": "process"}
    )
    assert s.seed == 7 and s.executor == "process"


def test_cost_for_symbol_falls_back_to_default(tmp_path: Path) -> None:
    path = write(tmp_path, 'costs: {symbols: {"EUR/USD": {spread_bps: 0.8}}}\n')
    s = load_settings(path, {})
    assert s.cost_for("EUR/USD") == (0.8, 0.5)
    assert s.cost_for("GOOG") == (1.0, 0.5)


@given(st.integers(min_value=-5, max_value=20_000))
def test_keep_top_n_accepts_exactly_its_range(n: int) -> None:
    root = Path("/tmp")
    if 1 <= n <= 10_000:
        assert load_settings(None, {}, root=root, overrides={"keep_top_n_per_regime": n})
    else:
        with pytest.raises(ConfigError, match="keep_top_n_per_regime"):
            load_settings(None, {}, root=root, overrides={"keep_top_n_per_regime": n})


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_env_integers_parse_like_yaml(seed: int) -> None:
    s = load_settings(None, {"REGIMEFORGE_SEED": str(seed)}, root=Path("/tmp"))
    assert s.seed == seed
