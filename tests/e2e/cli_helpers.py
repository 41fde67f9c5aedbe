"""Running the installed ``regimeforge`` command in a subprocess, as a user or script would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).parent / "regimeforge"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without REGIMEFORGE_* settings, wide enough for rich tables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIMEFORGE_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


def rf(
    *args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``regimeforge ARGS`` and capture its output (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(EXE), *map(str, args)],
        cwd=cwd or REPO,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_bad_input(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 2, one line on stderr starting with ``error:``, no traceback; returns that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    return lines[0]


def tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (relative), to check that nothing was written."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}
