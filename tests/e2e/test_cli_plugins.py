"""``regimeforge plugins``: what is loaded, from where, unavailable ones with their reason."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import REPO, rf

from regimeforge.plugins.manager import DEFAULT_PLUGINS


def example_env(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH with the example plugin and a dist-info advertising its entry point."""
    info = tmp_path / "site" / "rf_example_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rf-example-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[regimeforge]\nrf-example = rf_example_plugin\n")
    return {"PYTHONPATH": f"{tmp_path / 'site'}:{REPO / 'tests' / 'plugins'}"}


def test_plugins_lists_the_builtins(tmp_path: Path) -> None:
    result = rf("plugins", "--workspace", tmp_path)
    assert result.returncode == 0, result.stderr
    for module in DEFAULT_PLUGINS:
        assert module in result.stdout
    assert "built-in" in result.stdout
    assert f"{len(DEFAULT_PLUGINS)} plugins loaded" in result.stdout


def test_plugins_lists_an_entry_point_plugin_and_its_unavailable_type(tmp_path: Path) -> None:
    result = rf("plugins", "--workspace", tmp_path, env=example_env(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "entry point rf-example from rf-example-plugin 0.1" in out
    assert "example-mean" in out and "example_mean_return" in out and "example-first" in out
    assert "unavailable: needs a GPU (example)" in out


def test_blocked_and_disabled_entry_points_are_not_loaded(tmp_path: Path) -> None:
    env = example_env(tmp_path)
    blocked = rf(
        "plugins", "-w", tmp_path, env={**env, "REGIMEFORGE_PLUGINS": "{block: [rf-example]}"}
    )
    assert blocked.returncode == 0, blocked.stderr
    assert "example-mean" not in blocked.stdout
    skipped = rf("plugins", "-w", tmp_path, "--no-entry-points", env=env)
    assert skipped.returncode == 0 and "example-mean" not in skipped.stdout


def test_a_broken_plugin_is_one_clear_line(tmp_path: Path) -> None:
    env = example_env(tmp_path)
    info = tmp_path / "site" / "rf_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rf-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[regimeforge]\nbroken = no_such_module_rf\n")
    result = rf("plugins", "-w", tmp_path, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "entry point 'broken'" in result.stderr and "rf-broken 0.1" in result.stderr
