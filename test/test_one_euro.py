import numpy as np
import pytest

from rejshand_ros.perception.tracking.one_euro import OneEuroFilter, OneEuroParams


def test_constant_signal_passes_unchanged():
    f = OneEuroFilter()
    for i in range(10):
        out = f(np.full((21, 3), 0.5), i / 30)
    np.testing.assert_allclose(out, 0.5)


def test_jitter_is_reduced_and_a_step_is_followed():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0))
    noisy = 0.01 * rng.standard_normal((300, 3))
    smoothed = np.array([f(x, i / 30) for i, x in enumerate(noisy)])
    assert smoothed[30:].std() < 0.5 * noisy[30:].std()
    fast = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=50.0))
    out = [fast(np.array([0.0 if i < 10 else 1.0]), i / 30) for i in range(20)]
    assert out[-1][0] > 0.9  # a large speed opens the filter


def test_hand_computed_first_steps():
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0, d_cutoff=1.0))
    assert f(np.array([0.0]), 0.0)[0] == 0.0
    dt = 0.1
    alpha = 1.0 / (1.0 + (1.0 / (2 * np.pi)) / dt)
    assert f(np.array([1.0]), dt)[0] == pytest.approx(alpha)


def test_time_going_backwards_restarts_instead_of_blending():
    f = OneEuroFilter()
    f(np.array([0.0]), 1.0)
    assert f(np.array([5.0]), 0.5)[0] == 5.0


def test_bad_parameters_raise():
    with pytest.raises(ValueError):
        OneEuroParams(min_cutoff=0.0)
