"""The model artifact format: one zip file holding ``manifest.json`` and named binary parts.

Layout (docs/models.md): ``manifest.json`` (UTF-8 JSON: ``format``, ``format_version``, what the
model is and the library versions that wrote it) and parts, each a plain byte string:

- numeric arrays: ``.npz`` written with :func:`arrays_part` and read with ``allow_pickle=False``;
- scikit-learn estimators: pickle (:func:`pickle_part`). Unpickling runs code, so
  :func:`unpickle_part` is only ever called on bytes that the artifact store has verified
  against the SHA-256 recorded when the file was written (``ArtifactStore.open``);
- PyTorch weights: ``torch.save(state_dict)`` (:func:`torch_part`), read back with
  ``weights_only=True`` (:func:`load_torch_part`), which loads tensors and plain containers only.

Entries are stored uncompressed with a fixed timestamp, so the same model gives the same bytes
(the artifact store compresses whole files when asked).
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from regimeforge.domain.errors import StorageError

MANIFEST = "manifest.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_bundle(manifest: Mapping[str, Any], parts: Mapping[str, bytes]) -> bytes:
    """A zip of ``manifest.json`` and the parts, in name order (deterministic bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        entries = {MANIFEST: json.dumps(manifest, sort_keys=True, indent=1).encode()}
        for name in sorted(parts):
            if name == MANIFEST or not name or name.startswith("/") or ".." in name.split("/"):
                raise ValueError(f"invalid part name {name!r}")
            entries[name] = parts[name]
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def read_bundle(payload: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the parts of a bundle; StorageError when it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            names = archive.namelist()
            if MANIFEST not in names:
                raise StorageError("not a RegimeForge model file: no manifest.json")
            manifest = json.loads(archive.read(MANIFEST))
            parts = {n: archive.read(n) for n in names if n != MANIFEST}
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise StorageError(f"not a RegimeForge model file: {exc}") from None
    if not isinstance(manifest, dict):
        raise StorageError("not a RegimeForge model file: the manifest is not an object")
    return manifest, parts


def check_format(manifest: Mapping[str, Any], expected: str, version: int) -> None:
    """StorageError unless the manifest names ``expected`` in a version this code reads."""
    found, found_version = manifest.get("format"), manifest.get("format_version")
    if found != expected:
        raise StorageError(f"expected a {expected!r} part, found format {found!r}")
    if found_version != version:
        raise StorageError(
            f"{expected} format version {found_version!r} is not supported (this release reads "
            f"version {version}); retrain the model or use the release that wrote it"
        )


def arrays_part(**arrays: np.ndarray) -> bytes:
    """Numeric arrays as an ``.npz`` part (no pickled objects)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return buffer.getvalue()


def load_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an :func:`arrays_part` (``allow_pickle=False``)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def pickle_part(obj: Any) -> bytes:
    """A pickled object (scikit-learn estimators); see the module docstring for when it loads."""
    return pickle.dumps(obj, protocol=5)


def unpickle_part(data: bytes) -> Any:
    """Unpickle a part of an artifact whose SHA-256 the store has verified (never other bytes)."""
    return pickle.loads(data)  # verified by ArtifactStore.open before we get here


def torch_part(state_dict: Mapping[str, Any]) -> bytes:
    """PyTorch weights as a part (``torch.save`` of a state dict)."""
    import torch

    buffer = io.BytesIO()
    torch.save(dict(state_dict), buffer)
    return buffer.getvalue()


def load_torch_part(data: bytes, map_location: str = "cpu") -> dict[str, Any]:
    """A state dict from :func:`torch_part`, loaded with ``weights_only=True``."""
    import torch

    state: dict[str, Any] = torch.load(
        io.BytesIO(data), map_location=map_location, weights_only=True
    )
    return state
