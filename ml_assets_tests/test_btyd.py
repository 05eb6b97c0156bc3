"""BG/NBD and Gamma-Gamma against the published CDNOW results (Fader, Hardie &
Lee 2005): parameters, log-likelihood and a conditional expectation."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_assets.models import btyd

CDNOW = pd.read_csv(Path(__file__).parent / "data" / "cdnow_summary.csv")
PUBLISHED = btyd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_bgnbd_fit_reproduces_the_published_cdnow_parameters():
    fit = btyd.fit_bgnbd(CDNOW["x"], CDNOW["t_x"], CDNOW["T"])
    assert fit.r == pytest.approx(PUBLISHED.r, abs=0.001)
    assert fit.alpha == pytest.approx(PUBLISHED.alpha, abs=0.002)
    assert fit.a == pytest.approx(PUBLISHED.a, abs=0.001)
    assert fit.b == pytest.approx(PUBLISHED.b, abs=0.002)
    ll = btyd.bgnbd_log_likelihood(fit, CDNOW["x"], CDNOW["t_x"], CDNOW["T"]).sum()
    assert ll == pytest.approx(-9582.4, abs=0.1)


def test_bgnbd_conditional_expectation_matches_the_paper():
    # the paper's worked example: x = 2, t_x = 30.43, T = 38.86, next 39 weeks
    expected = btyd.bgnbd_expected_purchases(PUBLISHED, 39, 2, 30.43, 38.86)
    assert float(expected) == pytest.approx(1.226, abs=0.001)


def test_gamma_gamma_fit_reproduces_the_published_cdnow_parameters():
    repeat = CDNOW[CDNOW["x"] > 0]
    fit = btyd.fit_gamma_gamma(repeat["x"], repeat["zbar"])
    assert (fit.p, fit.q, fit.v) == pytest.approx((6.25, 3.74, 15.44), abs=0.02)
    # the expected spend shrinks an observed mean towards the population mean
    population = fit.p * fit.v / (fit.q - 1)
    few, many = btyd.gamma_gamma_expected_spend(fit, [1, 20], [100.0, 100.0])
    assert population < few < many < 100.0


def test_no_purchase_probability_is_a_probability_and_falls_with_time():
    x, t_x, T = CDNOW["x"], CDNOW["t_x"], CDNOW["T"]
    short = btyd.bgnbd_prob_no_purchase(PUBLISHED, 4, x, t_x, T)
    long = btyd.bgnbd_prob_no_purchase(PUBLISHED, 52, x, t_x, T)
    assert np.all((short >= 0) & (short <= 1)) and np.all(long <= short + 1e-12)
    # a customer who bought recently and often is likelier to buy than one silent for long
    recent, silent = btyd.bgnbd_prob_no_purchase(PUBLISHED, 13, [10, 10], [38.0, 5.0], [38.86, 38.86])
    assert recent < silent


def test_no_purchase_probability_agrees_with_simulation():
    """P(no purchase in the window) from the formula vs a Monte Carlo of the model."""
    rng = np.random.default_rng(0)
    params = btyd.BgNbd(r=0.5, alpha=5.0, a=0.8, b=2.5)
    n, T, window = 200_000, 30.0, 10.0
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    x, t_x, alive, silent = _simulate(rng, lam, p, T, window)
    # condition on one observed history cell: x == 1 with t_x in (20, 25]
    cell = (x == 1) & (t_x > 20) & (t_x <= 25)
    formula = btyd.bgnbd_prob_no_purchase(params, window, x[cell], t_x[cell], np.full(cell.sum(), T))
    assert cell.sum() > 2000
    assert float(np.mean(formula)) == pytest.approx(float(np.mean(silent[cell])), abs=0.02)


def _simulate(rng, lam, p, T, window):
    """Purchases in (0, T] and whether any happens in (T, T + window]."""
    n = len(lam)
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    silent = np.ones(n, bool)
    active = np.ones(n, bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1 / lam[idx])
        in_calibration = t[idx] <= T
        in_window = (t[idx] > T) & (t[idx] <= T + window)
        bought = idx[in_calibration]
        x[bought] += 1
        t_x[bought] = t[bought]
        silent[idx[in_window]] = False
        dies = rng.random(len(idx)) < p[idx]
        done = ~in_calibration | dies
        alive[idx[in_calibration & dies]] = False
        active[idx[done]] = False
    return x, t_x, alive, silent


def test_bad_summaries_are_refused():
    with pytest.raises(ValueError, match="t_x"):
        btyd.fit_bgnbd([1, 0], [5.0, 0.0], [4.0, 3.0])
    with pytest.raises(ValueError, match="repeat purchase"):
        btyd.fit_gamma_gamma([0, 2], [10.0, 5.0])


def _btyd_features_at(transactions, cutoffs):
    from ml_assets.snapshots.assets import prepare_state, stage_features
    from ml_assets.snapshots.btyd_features import COLUMNS, add_btyd_features
    from ml_assets_tests.factories import warehouse_with

    conn = warehouse_with(transactions)
    prepare_state(conn, cutoffs)
    stage_features(conn, cutoffs)
    fits = add_btyd_features(conn, churn_days=90, ltv_days=365)
    frame = conn.execute(
        "SELECT cutoff_date, customer_id, " + ", ".join(COLUMNS)
        + " FROM staged_features ORDER BY ALL"
    ).df()
    return frame, fits


def test_btyd_features_do_not_move_when_events_at_or_after_the_cutoff_change():
    from datetime import date

    from ml_assets_tests.factories import random_transactions
    from ml_assets_tests.test_snapshots import _mutate_from

    tx = random_transactions(n_customers=300, seed=8)
    cutoff = date(2022, 3, 1)
    original, fits = _btyd_features_at(tx, [cutoff])
    assert len(original) > 100 and len(fits) == 1
    assert original["btyd_p_alive"].between(0, 1).all()
    assert original["btyd_p_no_purchase"].between(0, 1).all()
    mutated, _ = _btyd_features_at(_mutate_from(tx, cutoff, 8), [cutoff])
    pd.testing.assert_frame_equal(original, mutated, check_exact=True)
    deleted, _ = _btyd_features_at(tx[tx.order_ts < pd.Timestamp(cutoff)], [cutoff])
    pd.testing.assert_frame_equal(original, deleted, check_exact=True)


def test_analytic_bgnbd_gradient_matches_finite_differences():
    from scipy.optimize import approx_fprime

    x, t_x, T = (CDNOW[c].to_numpy(float) / s for c, s in (("x", 1), ("t_x", 10), ("T", 10)))
    counts = np.ones(len(x))
    for log_params in (np.zeros(4), np.array([-1.0, 0.5, -0.3, 1.0])):
        value = lambda lp: btyd._bgnbd_loss(np.exp(lp), x, t_x, T, counts)[0]  # noqa: E731
        analytic = btyd._bgnbd_loss(np.exp(log_params), x, t_x, T, counts)[1]
        numeric = approx_fprime(log_params, value, 1e-6)
        assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-2)


def test_expected_purchases_are_finite_at_the_edges_of_the_parameter_space():
    x, t_x, T = np.array([0.0, 1.0, 5.0]), np.array([0.0, 10.0, 30.0]), np.full(3, 40.0)
    # a fit with no dropout is the NBD model: E = (r + x) / (alpha + T) * t
    no_dropout = btyd.bgnbd_expected_purchases(btyd.BgNbd(0.5, 10.0, 1e-7, 1e6), 52, x, t_x, T)
    assert no_dropout == pytest.approx((0.5 + x) / 50.0 * 52, rel=1e-4)
    # a == 1 is a removable singularity: the value there is the limit from either side
    at_one = btyd.bgnbd_expected_purchases(btyd.BgNbd(0.5, 10.0, 1.0, 3.0), 52, x, t_x, T)
    near = btyd.bgnbd_expected_purchases(btyd.BgNbd(0.5, 10.0, 1.0001, 3.0), 52, x, t_x, T)
    assert at_one == pytest.approx(near, rel=1e-3)
