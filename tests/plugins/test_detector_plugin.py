"""A third-party regime detector plugs in with no change to RegimeForge."""

from __future__ import annotations

import numpy as np
import rf_detector_plugin  # tests/plugins is on sys.path (pytest rootdir-less test dir)

from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS
from regimeforge.domain.synthetic import generate_regime_bars
from regimeforge.plugins.manager import get_plugin_manager


def test_third_party_detector_is_registered_next_to_the_builtins() -> None:
    registry = get_plugin_manager(entry_points=False, extra_plugins=[rf_detector_plugin])
    assert {"rules", "hmm", "updown"} <= set(registry.detectors)
    assert registry.detectors["hmm"].available
    detector = registry.detectors["updown"].factory({"updown_lag": 2})
    bars = generate_regime_bars(50, 1).bars
    labels = detector.detect(bars, DEFAULT_REGIME_DEFINITIONS)
    close = bars["close"].to_numpy()
    assert (labels[:2] == "").all()
    assert ((labels[2:] == "bull_trending") == (close[2:] > close[:-2])).all()


def test_builtin_rules_detector_reads_its_settings() -> None:
    registry = get_plugin_manager(entry_points=False)
    detector = registry.detectors["rules"].factory(
        {"rv_window": 5, "trend_window": 10, "percentile_window": 30}
    )
    labels = np.asarray(
        detector.detect(generate_regime_bars(100, 2).bars, DEFAULT_REGIME_DEFINITIONS)
    )
    assert (labels[:34] == "").all() and (labels[34:] != "").all()
