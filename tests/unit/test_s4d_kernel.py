"""The S4D layer of ``sssd``: S4D-Lin initialisation, the ZOH kernel, and the matrix form of its
bidirectional convolution equal to the plain convolution sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="neural models need the torch extra")

from regimeforge.plugins.builtin.neural.sssd_nets import S4DKernel, conv_matrix  # noqa: E402


def test_the_kernel_starts_s4d_lin_and_is_the_zoh_vandermonde_sum() -> None:
    torch.manual_seed(0)
    kernel = S4DKernel(channels=3, state_size=8)
    a = -torch.exp(kernel.log_a_real) + 1j * kernel.a_imag
    assert torch.allclose(a.real, torch.full((3, 4), -0.5))
    assert torch.allclose(a.imag, math.pi * torch.arange(4.0).repeat(3, 1))
    with torch.no_grad():
        k = kernel(6).double().numpy()
        dt = torch.exp(kernel.log_dt).double().numpy()[:, None]
        c = torch.view_as_complex(kernel.c).detach().numpy().astype(np.complex128)
    a_np = a.detach().numpy().astype(np.complex128)
    c_bar = c * (np.exp(dt * a_np) - 1.0) / a_np  # zero-order hold with B = 1
    expected = np.stack(
        [2.0 * np.real(np.sum(c_bar * np.exp(dt * a_np * step), axis=1)) for step in range(6)],
        axis=1,
    )
    np.testing.assert_allclose(k, expected, rtol=1e-4, atol=1e-6)


def test_the_matrix_form_is_the_causal_plus_anticausal_convolution() -> None:
    rng = np.random.default_rng(1)
    channels, length = 2, 7
    forward, backward = rng.normal(size=(channels, length)), rng.normal(size=(channels, length))
    u = rng.normal(size=(3, length, channels))
    matrix = conv_matrix(torch.tensor(forward), torch.tensor(backward)).numpy()
    y = np.einsum("blc,lmc->bmc", u, matrix)
    expected = np.zeros_like(u)
    for m in range(length):
        for lag in range(m + 1):  # u at m - lag, left to right
            expected[:, m] += u[:, m - lag] * forward[:, lag]
        for lag in range(length - m):  # u at m + lag, right to left
            expected[:, m] += u[:, m + lag] * backward[:, lag]
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
