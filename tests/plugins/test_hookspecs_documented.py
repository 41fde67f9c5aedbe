"""Meta-test: every hookspec is typed, has a docstring, is documented and is called or tested.

Adding a hook without a docstring, without a section in docs/plugins.md, or without any code or
test that calls it fails here (the datasette rule: an undocumented or untested hook is a bug).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from regimeforge.plugins import hookspecs

REPO = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")
)


def _sources(folder: str, exclude: Path | None = None) -> str:
    files = (REPO / folder).rglob("*.py")
    return "\n".join(f.read_text() for f in files if f.resolve() != exclude)


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 16
    assert {h for h in HOOKS if h.startswith("register_")} >= {
        "register_model_types",
        "register_encoders",
        "register_indicators",
        "register_regime_detectors",
        "register_metrics",
        "register_data_sources",
        "register_executors",
        "register_notifiers",
    }


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring_and_full_type_hints(name: str) -> None:
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) >= 30, f"hookspec {name} needs a docstring saying when it runs"
    signature = inspect.signature(fn)
    for param in signature.parameters.values():
        assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name}) untyped"
    assert signature.return_annotation is not inspect.Signature.empty, f"{name} return untyped"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_in_the_plugin_guide(name: str) -> None:
    guide = (REPO / "docs" / "plugins.md").read_text()
    assert re.search(rf"^#+ .*`{name}", guide, re.M), f"docs/plugins.md has no heading for {name}"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_called_or_tested(name: str) -> None:
    if name.startswith("register_"):
        # the manager calls every registration hook through its KINDS table
        from regimeforge.plugins.registry import KINDS

        assert name in {hook for hook, _ in KINDS.values()}
        return
    called = re.compile(rf"hook\.{name}\(")
    code = _sources("src") + _sources("tests", exclude=Path(__file__).resolve())
    assert called.search(code), f"nothing calls hook.{name}(...) in src/ or tests/"
