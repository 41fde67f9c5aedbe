"""docs/api.md cannot rot: its ```python blocks run in order, in one namespace, in a temp folder."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

pytestmark = pytest.mark.slow


def python_blocks(text: str) -> list[str]:
    """The code of every ```python fence, in document order."""
    return [match.group(1) for match in BLOCK.finditer(text)]


def test_the_doc_has_a_complete_example() -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    code = "\n".join(blocks)
    assert len(blocks) >= 8
    for name in ("init_workspace", "load_grid", "run_grid", "CancelToken", "resume", "runs(",
                 "regime_bests", "detect_regimes", "best_model", ".predict("):  # fmt: skip
        assert name in code, f"docs/api.md shows no {name}"


def test_the_python_blocks_of_the_api_doc_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "api_doc"}
    out = io.StringIO()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGIMEFORGE_WORKSPACE", raising=False)
    try:
        for number, block in enumerate(blocks, start=1):
            compiled = compile(block, f"docs/api.md python block {number}", "exec")
            with contextlib.redirect_stdout(out):
                exec(compiled, namespace)
    finally:
        workspace = namespace.get("ws")
        if workspace is not None:
            workspace.close()  # type: ignore[attr-defined]
    printed = out.getvalue()
    assert "model 1 of 2" in printed and "model 2 of 2" in printed
    assert "2 skipped" in printed
    assert (tmp_path / "ws" / "regimeforge.db").exists()
