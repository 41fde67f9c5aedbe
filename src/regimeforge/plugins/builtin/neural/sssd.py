"""Model type ``sssd``: diffusion over the return path with a structured state-space denoiser.

The training, the schedule, the samplers, the members, the prediction methods and the saved form
are those of the diffusion types (``diffusion.DiffusionTrainer``); only the denoiser differs: an
S4D sequence model over the bar's return window followed by the noisy future path
(``sssd_nets``; Alcaraz & Strodthoff 2022). Its default sampler is DDIM (10 steps): the S4D
denoiser costs more per step than the MLP, and DDIM's few deterministic steps keep a grid of
``sssd`` models within minutes on a CPU; ``sampler: ddpm`` is an inference parameter away.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

from regimeforge.plugins.builtin.neural import diffusion_params as dp
from regimeforge.plugins.builtin.neural.diffusion import diffusion_model_type
from regimeforge.plugins.descriptors import ModelTypeDescriptor

SSSD_DEFAULTS: Final[MappingProxyType[str, Any]] = MappingProxyType(
    {"d_model": 16, "layers": 2, "state_size": 32, **dp.TRAINING_DEFAULTS}
)


def sssd_descriptors() -> list[ModelTypeDescriptor]:
    """``sssd`` (unavailable, with the reason, without torch)."""
    return [
        diffusion_model_type(
            "sssd",
            "sssd",
            SSSD_DEFAULTS,
            dp.DDIM_INFERENCE,
            "diffusion over the return path with an S4D state-space denoiser over the return "
            "window (SSSD); DDIM sampling; confidence from the spread of the samples",
        )
    ]
