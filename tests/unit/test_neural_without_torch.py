"""Without torch the neural plugin still imports and registers its names as unavailable.

Run in a child interpreter where ``import torch`` fails (``sys.modules["torch"] = None``), so
that this test means the same whether or not the torch extra is installed here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["torch"] = None  # import torch -> ImportError
    from regimeforge.domain.config import ModelConfig
    from regimeforge.domain.errors import ConfigError, PluginError
    from regimeforge.plugins.builtin.neural import common
    from regimeforge.plugins.manager import get_plugin_manager

    registry = get_plugin_manager(entry_points=False)
    out = {
        "models": {n: [d.available, d.unavailable_reason] for n, d in registry.model_types.items()},
        "encoders": {n: [d.available, d.unavailable_reason] for n, d in registry.encoders.items()},
        "unavailable": registry.unavailable(),
    }
    base = {"symbol": "EUR/USD", "base_timeframe": "1h", "days_history": 365, "horizon": 3}
    for key, mapping in (("model_error", {**base, "model_type": "lightning"}),
                         ("encoder_error", {**base, "model_type": "ridge", "encoder": "vae"})):
        try:
            ModelConfig.from_mapping(mapping, registry.catalog())
        except ConfigError as exc:
            out[key] = str(exc)
    from regimeforge.domain.grid_build import build_grid
    grid = {"model_type": ["ridge", "sssd"], "encoder": ["autoencoder"], "symbol": ["EUR/USD"],
            "base_timeframe": ["1h"], "days_history": [365], "horizon": [3]}
    _, problems = build_grid(grid, registry.catalog())
    out["grid_problems"] = [[p.path, p.message, p.fix] for p in problems]
    try:
        common.require_torch()
    except PluginError as exc:
        out["require"] = str(exc)
    out["torch_loaded"] = sys.modules.get("torch") is not None
    print(json.dumps(out))
    """
)

NEURAL_TYPES = ("lightning", "diffusion-ddpm", "diffusion-ddim", "sssd")
FIX = "pip install 'regimeforge[torch]'"


@pytest.fixture(scope="module")
def out() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_neural_plugin_registers_unavailable_names_with_the_fix(out: dict) -> None:
    for name in NEURAL_TYPES:
        available, reason = out["models"][name]
        assert not available and FIX in reason, name
        assert out["unavailable"][f"model_types:{name}"] == reason
    for name in ("autoencoder", "vae"):
        assert out["encoders"][name][0] is False and FIX in out["encoders"][name][1]
    assert out["encoders"]["latents"][0] is True  # needs torch only for a torch encoder
    for name in ("ridge", "lasso", "elasticnet", "rf"):
        assert out["models"][name] == [True, ""]
    assert not out["torch_loaded"]


def test_configs_naming_an_unavailable_type_are_refused_with_the_install_command(
    out: dict,
) -> None:
    assert "model_type" in out["model_error"] and FIX in out["model_error"]
    assert "'lightning' is unavailable here" in out["model_error"]
    assert "'vae' is unavailable here" in out["encoder_error"] and FIX in out["encoder_error"]
    assert FIX in out["require"]


def test_grids_naming_an_unavailable_type_are_refused_with_the_install_command(out: dict) -> None:
    assert out["grid_problems"] == [
        ["grid.model_type[1]", "'sssd' is unavailable here", out["models"]["sssd"][1]],
        ["grid.encoder[0]", "'autoencoder' is unavailable here", out["encoders"]["autoencoder"][1]],
    ]
