"""Canonical JSON and SHA-256 hashes of configurations.

The canonical form is what makes a config hash stable across processes, platforms and releases:
keys sorted recursively, integral floats written as integers (1 and 1.0 hash alike), other floats
in Python's shortest round-trip ``repr``, no NaN or infinity, booleans kept distinct from numbers,
tuples written as lists. Set-like lists are sorted by the config classes before they get here.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

JsonValue = Any


def normalise(value: Any) -> JsonValue:
    """Return ``value`` as plain JSON data in canonical form (raises ValueError if impossible)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"mapping key {key!r} is not a string")
            out[key] = normalise(item)
        return out
    if isinstance(value, list | tuple):
        return [normalise(item) for item in value]
    # numpy scalars and the like expose .item(); anything else is refused.
    item = getattr(value, "item", None)
    if callable(item):
        return normalise(item())
    raise ValueError(f"{type(value).__name__} is not JSON data")


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys of ``normalise(value)``."""
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_of(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("ascii")).hexdigest()
