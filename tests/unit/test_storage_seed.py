"""The first migration seeds exactly DEFAULT_REGIME_DEFINITIONS (it holds a literal copy)."""

from __future__ import annotations

import importlib
import json

from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS

INITIAL = "regimeforge.adapters.storage.migrations.versions.0001_initial"


def test_the_seeded_regimes_equal_the_domain_defaults() -> None:
    seeded = importlib.import_module(INITIAL).DEFAULT_REGIMES
    expected = [
        {
            "regime_name": r.name,
            "description": r.description,
            "detector": r.detector,
            "detection_rules": dict(r.detection_rules),
            "priority": r.priority,
            "is_active": r.is_active,
        }
        for r in DEFAULT_REGIME_DEFINITIONS
    ]
    assert [dict(s) for s in seeded] == expected
    assert json.loads(json.dumps(seeded)) == expected  # plain JSON data, storable as is
