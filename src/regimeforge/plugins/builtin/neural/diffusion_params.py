"""Hyperparameters and inference parameters of the diffusion model types, and their checks.

Training (``model_hyperparams``): the denoiser's sizes, the number of diffusion steps T and its
noise schedule, and the optimiser. Inference (``InferenceConfig.params``, no retraining):
``n_samples`` paths per bar and member, ``sampling_steps`` (0 or anything above T: every one of
the T steps) and the ``sampler`` (``ddpm``: ancestral, η = 1; ``ddim``: deterministic, η = 0).
The model type only picks the default sampler and step count; one trained network serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from regimeforge.domain.errors import ConfigError, Problem

SAMPLER_ETA: Final[Mapping[str, float]] = MappingProxyType({"ddpm": 1.0, "ddim": 0.0})
SCHEDULES: Final[tuple[str, ...]] = ("cosine", "linear")
PREDICTIONS: Final[tuple[str, ...]] = ("epsilon", "v")

#: Hyperparameters every diffusion type shares (the denoiser adds its own sizes).
TRAINING_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "diffusion_steps": 100,
        "schedule": "cosine",
        "prediction": "epsilon",
        "epochs": 60,
        "patience": 8,
        "batch_size": 256,
        "learning_rate": 0.002,
    }
)
MLP_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {"hidden": 64, "layers": 2, **TRAINING_DEFAULTS}
)
DDPM_INFERENCE: Final[Mapping[str, Any]] = MappingProxyType(
    {"n_samples": 32, "sampling_steps": 0, "sampler": "ddpm"}
)
DDIM_INFERENCE: Final[Mapping[str, Any]] = MappingProxyType(
    {"n_samples": 32, "sampling_steps": 10, "sampler": "ddim"}
)

# name -> (lowest, highest) for integers, (exclusive lowest, highest) for floats, or choices
_INTS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "hidden": (1, 4096),
        "layers": (0, 32),
        "d_model": (1, 1024),
        "state_size": (2, 1024),
        "diffusion_steps": (2, 5000),
        "epochs": (1, 100_000),
        "patience": (1, 100_000),
        "batch_size": (1, 1_000_000),
    }
)
_FLOATS: Final[Mapping[str, tuple[float, float]]] = MappingProxyType({"learning_rate": (0.0, 10.0)})
_CHOICES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"schedule": SCHEDULES, "prediction": PREDICTIONS}
)


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    )


def _problem(path: str, value: Any) -> Problem | None:
    key = path.rsplit(".", 1)[-1]
    if key in _INTS:
        lo, hi = _INTS[key]
        if not _is_int(value) or not lo <= int(value) <= hi:
            return Problem(path, f"{value!r} is not an integer in {lo}..{hi}", f"use {lo}..{hi}")
    elif key in _FLOATS:
        low, high = _FLOATS[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low < float(value) <= high:
            return Problem(path, f"{value!r} is not a number in ({low}, {high}]", "e.g. 0.002")
    elif key in _CHOICES and value not in _CHOICES[key]:
        return Problem(path, f"unknown value {value!r}", f"use one of: {', '.join(_CHOICES[key])}")
    return None


def check_hyperparams(params: Mapping[str, Any]) -> dict[str, Any]:
    """The checked ``model_hyperparams`` (plain values); ConfigError naming every bad one."""
    problems = [p for k, v in params.items() if (p := _problem(f"model_hyperparams.{k}", v))]
    ConfigError.collect(problems, subject="diffusion model")
    return {k: int(v) if k in _INTS else v for k, v in params.items()}


def inference_options(
    defaults: Mapping[str, Any], params: Mapping[str, Any] | None, hyper: Mapping[str, Any]
) -> dict[str, Any]:
    """``defaults`` updated with the known keys of ``params``; ``sampling_steps`` 0 -> T, capped
    at T.

    Keys other model types read are ignored (one inference grid serves every model type).
    """
    out = dict(defaults)
    out.update({k: v for k, v in (params or {}).items() if k in defaults})
    problems = []
    if not _is_int(out["n_samples"]) or not 1 <= int(out["n_samples"]) <= 100_000:
        problems.append(Problem("params.n_samples", f"{out['n_samples']!r}", "use 1..100000"))
    if not _is_int(out["sampling_steps"]) or int(out["sampling_steps"]) < 0:
        problems.append(
            Problem(
                "params.sampling_steps",
                f"{out['sampling_steps']!r}",
                "use an integer >= 1, or 0 for every diffusion step",
            )
        )
    if out["sampler"] not in SAMPLER_ETA:
        problems.append(
            Problem("params.sampler", f"unknown sampler {out['sampler']!r}", "use ddpm or ddim")
        )
    ConfigError.collect(problems, subject="diffusion inference parameters")
    total = int(hyper["diffusion_steps"])
    steps = int(out["sampling_steps"])
    steps = total if steps == 0 else min(steps, total)
    return {"n_samples": int(out["n_samples"]), "sampling_steps": steps, "sampler": out["sampler"]}
