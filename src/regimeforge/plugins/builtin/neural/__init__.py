"""Built-in neural model types and encoders (the optional ``torch`` extra), as one plugin.

Model types ``lightning``, ``diffusion-ddpm``, ``diffusion-ddim`` and ``sssd``; encoders
``autoencoder``, ``vae`` and ``latents`` (docs/models.md, "Neural models"). Every module of this
package imports without torch (torch is imported inside the functions that train, forecast or
load), so the plugin always registers: without torch the types and the ``autoencoder``/``vae``
encoders are registered with ``available=False`` and the reason ``common.TORCH_REASON``, listed
by ``regimeforge plugins`` and refused in grids with the install command. ``latents`` stays
available: it needs torch only when the encoder it reuses does.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from regimeforge.domain.errors import PluginError
from regimeforge.domain.ports import ModelTrainer
from regimeforge.plugins.builtin.neural import common
from regimeforge.plugins.builtin.neural.encoders import (
    AUTOENCODER_PARAMS,
    VAE_PARAMS,
    make_autoencoder,
    make_vae,
)
from regimeforge.plugins.builtin.neural.latents import PARAMS as LATENTS_PARAMS
from regimeforge.plugins.builtin.neural.latents import make_latents
from regimeforge.plugins.builtin.neural.lightning import lightning_descriptor
from regimeforge.plugins.descriptors import EncoderDescriptor, ModelTypeDescriptor
from regimeforge.plugins.hookspecs import hookimpl

#: module -> (function returning its descriptors, the names it registers).
DIFFUSION_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "regimeforge.plugins.builtin.neural.diffusion": (
        "diffusion_descriptors",
        ("diffusion-ddpm", "diffusion-ddim"),
    ),
    "regimeforge.plugins.builtin.neural.sssd": ("sssd_descriptors", ("sssd",)),
}
NOT_BUILT = "not part of this build yet (its module is missing)"


def _not_built() -> ModelTrainer:
    raise PluginError(f"this model type is {NOT_BUILT}")


def _descriptors_of(module_name: str) -> list[ModelTypeDescriptor]:
    """The descriptors of a diffusion module; placeholders only when the module is absent."""
    function, names = DIFFUSION_MODULES[module_name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:  # a missing dependency inside it is a real error
            raise
        return [
            ModelTypeDescriptor(n, _not_built, available=False, unavailable_reason=NOT_BUILT)
            for n in names
        ]
    make: Callable[[], list[ModelTypeDescriptor]] = getattr(module, function)
    return list(make())


def model_types() -> list[ModelTypeDescriptor]:
    """``lightning``, ``diffusion-ddpm``, ``diffusion-ddim`` and ``sssd``."""
    out = [lightning_descriptor()]
    for module_name in DIFFUSION_MODULES:
        out.extend(_descriptors_of(module_name))
    return out


def encoders() -> list[EncoderDescriptor]:
    """``autoencoder`` and ``vae`` (need torch) and ``latents``."""
    available = common.torch_available()
    reason = "" if available else common.TORCH_REASON
    return [
        EncoderDescriptor(
            "autoencoder",
            make_autoencoder,
            AUTOENCODER_PARAMS,
            "autoencoder fitted on the train rows; its latent codes are the features",
            available=available,
            unavailable_reason=reason,
        ),
        EncoderDescriptor(
            "vae",
            make_vae,
            VAE_PARAMS,
            "variational autoencoder fitted on the train rows; features = posterior means",
            available=available,
            unavailable_reason=reason,
        ),
        EncoderDescriptor(
            "latents",
            make_latents,
            LATENTS_PARAMS,
            "the fitted encoder of a stored model (run_id or artifact_hash), not refitted",
        ),
    ]


@hookimpl
def register_model_types() -> list[ModelTypeDescriptor]:
    """The neural model types (unavailable without torch)."""
    return model_types()


@hookimpl
def register_encoders() -> list[EncoderDescriptor]:
    """The neural encoders (``autoencoder``/``vae`` unavailable without torch)."""
    return encoders()
