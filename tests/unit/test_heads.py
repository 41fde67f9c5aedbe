"""The arithmetic of heads, chains, member windows and stacking (plugins/builtin/models)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.domain.errors import DataError
from regimeforge.plugins.builtin.models import heads
from regimeforge.plugins.builtin.models.stacking import fit_stacking, validation_errors


def test_head_steps_are_every_step_up_to_ten_then_log_spaced() -> None:
    assert heads.head_steps(1).tolist() == [1]
    assert heads.head_steps(10).tolist() == list(range(1, 11))
    steps = heads.head_steps(500)
    assert steps[0] == 1 and steps[-1] == 500 and len(steps) <= 10
    assert np.all(np.diff(steps) > 0)
    with pytest.raises(ValueError):
        heads.head_steps(0)


def test_cumulative_targets_sum_the_returns_to_each_step() -> None:
    targets = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, np.nan, 2.0, 3.0]])
    out = heads.cumulative_targets(targets, np.array([1, 3, 4]))
    np.testing.assert_allclose(out[0], [0.1, 0.6, 1.0])
    assert out[1, 0] == 1.0 and np.isnan(out[1, 1:]).all()


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500), st.floats(-1, 1), st.floats(-1, 1))
def test_heads_interpolate_linear_functions_exactly(horizon: int, a: float, b: float) -> None:
    steps = heads.head_steps(horizon)
    grid = np.arange(1, horizon + 1)
    matrix = heads.interpolation_matrix(steps, grid)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(matrix @ (a + b * steps), a + b * grid, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500), st.floats(-1e-3, 1e-3))
def test_direct_multi_of_a_constant_drift_is_the_drift_times_the_horizon(
    horizon: int, drift: float
) -> None:
    steps = heads.head_steps(horizon)
    weights = heads.direct_multi_weights(steps, horizon)
    # heads of a constant per-bar drift: h_j = drift * j -> consensus drift * H
    assert weights @ (drift * steps) == pytest.approx(drift * horizon, abs=1e-12)


def test_direct_multi_weights_with_every_step_fitted_are_one_over_j() -> None:
    np.testing.assert_allclose(heads.direct_multi_weights(np.arange(1, 6), 5), 1 / np.arange(1, 6))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 500), st.floats(-1, 1), st.floats(-1e-2, 1e-2))
def test_chain_weights_sum_linear_one_step_forecasts_exactly(
    horizon: int, a: float, b: float
) -> None:
    points = heads.chain_points(horizon)
    assert points[0] == 0 and points[-1] == horizon - 1 and len(points) <= 32
    weights = heads.chain_weights(points, horizon)
    exact = np.sum(a + b * np.arange(horizon))
    assert weights @ (a + b * points) == pytest.approx(exact, rel=1e-9, abs=1e-9)


def test_transition_recovers_a_stable_linear_system() -> None:
    rng = np.random.default_rng(1)
    a = np.array([[0.5, 0.2], [0.0, -0.3]])
    b = np.array([0.1, -0.2])
    x = np.zeros((5000, 2))
    for t in range(1, 5000):
        x[t] = a @ x[t - 1] + b + rng.normal(0, 0.1, 2)
    fitted = heads.Transition.fit(x)
    np.testing.assert_allclose(fitted.a, a, atol=0.03)
    np.testing.assert_allclose(fitted.b, b, atol=0.03)


def test_an_unstable_transition_is_shrunk_to_a_contracting_one() -> None:
    x = np.cumprod(np.full((200, 1), 1.05), axis=0)  # x_{t+1} = 1.05 x_t
    fitted = heads.Transition.fit(x, alpha=0.0)
    assert np.max(np.abs(np.linalg.eigvals(fitted.a))) <= heads.MAX_SPECTRAL_RADIUS + 1e-12


def test_chained_states_equal_explicit_iteration() -> None:
    rng = np.random.default_rng(2)
    transition = heads.Transition(rng.normal(0, 0.3, (3, 3)), rng.normal(0, 1, 3))
    x0 = rng.normal(size=(4, 3))
    points = np.array([0, 1, 2, 5, 9])
    states = list(transition.states_at(x0, points))
    x = x0.copy()
    explicit = {}
    for i in range(10):
        explicit[i] = x.copy()
        x = x @ transition.a.T + transition.b
    for point, state in zip(points, states, strict=True):
        np.testing.assert_allclose(state, explicit[int(point)], atol=1e-12)


def test_member_windows_expand_and_purge_the_horizon() -> None:
    windows = heads.member_windows(slice(100, 1100), 5, horizon=10)
    assert [w.start for w in windows] == [100] * 5
    assert [w.stop for w in windows] == [700 - 10, 800 - 10, 900 - 10, 1000 - 10, 1100]
    assert heads.member_windows(slice(0, 50), 1, horizon=5) == [slice(0, 50)]


def test_member_windows_that_are_too_small_are_a_data_error() -> None:
    with pytest.raises(DataError, match="ensemble_members"):
        heads.member_windows(slice(0, 60), 5, horizon=20)


def test_stacking_finds_the_non_negative_combination() -> None:
    rng = np.random.default_rng(3)
    members = rng.normal(size=(3, 400))
    truth = 0.7 * members[0] + 0.2 * members[2] - 0.5 * members[1] + 0.05
    coef, intercept = fit_stacking(members, truth)
    assert coef[1] == 0.0  # negatively related member is not used
    np.testing.assert_allclose(coef[[0, 2]], [0.7, 0.2], atol=0.1)
    assert intercept == pytest.approx(0.05, abs=0.1)


def test_stacking_and_errors_fall_back_without_usable_rows() -> None:
    members = np.ones((2, 3))
    truth = np.array([np.nan, np.nan, 1.0])
    coef, intercept = fit_stacking(members, truth)
    assert coef.tolist() == [0.5, 0.5] and intercept == 0.0
    np.testing.assert_allclose(validation_errors(members, truth), [0.0, 0.0])
    assert np.isnan(validation_errors(members, np.full(3, np.nan))).all()
