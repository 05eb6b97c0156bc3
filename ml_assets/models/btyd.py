"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV") by maximum likelihood on scipy.

Inputs are the BTYD summary per customer: ``x`` repeat purchases, ``t_x`` the
time of the last purchase and ``T`` the time observed, both counted from the
first purchase, and for Gamma-Gamma the mean value of the repeat purchases.
The tests check the fit against the published CDNOW parameters.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float


def bgnbd_log_likelihood(params: BgNbd, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood, equation (6) of the BG/NBD paper."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def _bgnbd_loss(params, x, t_x, T, counts):
    """Weighted negative log-likelihood and its gradient in log-parameters."""
    r, alpha, a, b = params
    repeat = x > 0
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    mix = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - mix), np.exp(a4 - mix)  # shares of the two terms
    ll = (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x) + mix
    )
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - np.where(
        repeat, w4 * np.log(alpha + t_x), 0.0
    )
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = (
        digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
        - w4 / np.where(repeat, b + x - 1, 1.0)
    )
    gradient = np.array([(counts * d).sum() for d in (d_r, d_alpha, d_a, d_b)]) * params
    return -(counts * ll).sum(), -gradient


def fit_bgnbd(x, t_x, T) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for the given customers."""
    x, t_x, T = _checked(x, t_x, T)
    scale = max(float(np.mean(T)), 1e-9)  # fit in units of the mean age, for conditioning
    # customers with the same summary share a likelihood term: fit each once, weighted
    rows, counts = np.unique(np.column_stack([x, t_x / scale, T / scale]), axis=0, return_counts=True)

    def loss(log_params):
        value, gradient = _bgnbd_loss(np.exp(log_params), rows[:, 0], rows[:, 1], rows[:, 2], counts)
        return value, gradient

    best = _minimize(loss, np.zeros(4), jac=True)
    r, alpha, a, b = np.exp(best)
    return BgNbd(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def bgnbd_p_alive(params: BgNbd, x, t_x, T) -> np.ndarray:
    """P(the customer is still active at T | x, t_x, T)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    log_odds_dead = np.where(
        x > 0,
        np.log(a) - np.log(np.maximum(b + x - 1, 1e-12))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return 1.0 / (1.0 + np.exp(log_odds_dead))


def bgnbd_prob_no_purchase(params: BgNbd, t: float, x, t_x, T) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T).

    Inactive customers never buy; an active one has posterior purchase rate
    Gamma(r + x, alpha + T) and can only drop out right after a purchase, so it
    makes none in the window with probability ((alpha + T) / (alpha + T + t))^(r + x).
    """
    r, alpha = params.r, params.alpha
    x, T = np.asarray(x, float), np.asarray(T, float)
    none_if_alive = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return 1.0 - bgnbd_p_alive(params, x, t_x, T) * (1.0 - none_if_alive)


def bgnbd_expected_purchases(params: BgNbd, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T], equation (10) of the BG/NBD paper."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a = a if abs(a - 1) > 1e-6 else 1 + 1e-6  # a removable singularity at a == 1
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    with np.errstate(all="ignore"):
        core = (a + b + x - 1) / (a - 1) * (1 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z))
    # hyp2f1 overflows where the fit found (almost) no dropout (a -> 0 or b -> inf):
    # there the model is the NBD, whose expectation is the limit
    core = np.where(np.isfinite(core), core, (r + x) / (alpha + T) * t)
    return core * bgnbd_p_alive(params, x, t_x, T)


def gamma_gamma_log_likelihood(params: GammaGamma, x, mean_value) -> np.ndarray:
    """Per-customer log-likelihood of the mean repeat-purchase value (x >= 1)."""
    p, q, v = params.p, params.q, params.v
    x, m = np.asarray(x, float), np.asarray(mean_value, float)
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(x, mean_value) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers."""
    x, m = np.asarray(x, float), np.asarray(mean_value, float)
    if len(x) == 0 or np.any(x <= 0) or np.any(m <= 0):
        raise ValueError(
            "Gamma-Gamma needs customers with at least one repeat purchase and a positive mean "
            f"value; got {len(x)} rows, {int(np.sum(x <= 0))} without repeats, "
            f"{int(np.sum(m <= 0))} with a non-positive mean."
        )
    scale = float(np.mean(m))

    m = m / scale

    def loss(log_params):
        p, q, v = params = np.exp(log_params)
        ll = gamma_gamma_log_likelihood(GammaGamma(p, q, v), x, m)
        px, total = p * x, np.log(x * m + v)
        gradient = np.array([
            (x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - total)).sum(),
            (digamma(px + q) - digamma(q) + np.log(v) - total).sum(),
            (q / v - (px + q) / (x * m + v)).sum(),
        ]) * params
        return -ll.sum(), -gradient

    best = _minimize(loss, np.array([0.0, 1.0, 0.0]), jac=True)
    p, q, v = np.exp(best)
    return GammaGamma(p=float(p), q=float(q), v=float(v * scale))


def gamma_gamma_expected_spend(params: GammaGamma, x, mean_value) -> np.ndarray:
    """E[value of a purchase | x, mean]; the population mean where x is 0."""
    p, q, v = params.p, params.q, params.v
    if q <= 1:
        raise ValueError(f"Gamma-Gamma q={q:.3f} <= 1: the expected value is infinite.")
    x, m = np.asarray(x, float), np.asarray(mean_value, float)
    return (p * (v + x * m)) / (p * x + q - 1)


def _checked(x, t_x, T):
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    bad = (x < 0) | (t_x < 0) | (t_x > T + 1e-9) | ((x > 0) & (t_x <= 0)) | ~np.isfinite(x + t_x + T)
    if len(x) == 0 or bad.any():
        raise ValueError(
            f"BG/NBD needs 0 <= t_x <= T and t_x > 0 when x > 0; {int(bad.sum())} of "
            f"{len(x)} customers break that."
        )
    return x, t_x, T


def _minimize(loss, start: np.ndarray, jac: bool = False) -> np.ndarray:
    """Minimise over log-parameters with L-BFGS-B; Nelder-Mead only if that stalls."""
    bounds = [(-12.0, 12.0)] * len(start)

    def finite(log_params):
        # far out in a weakly identified direction the terms can overflow: treat
        # that as a very poor fit instead of letting a NaN derail the search
        if not jac:
            value = loss(log_params)
            return value if np.isfinite(value) else 1e300
        value, gradient = loss(log_params)
        if np.isfinite(value) and np.all(np.isfinite(gradient)):
            return value, gradient
        return 1e300, np.zeros_like(log_params)

    def value_only(log_params):
        return finite(log_params)[0] if jac else finite(log_params)

    # four parameters: BLAS threads only add start-up cost to every L-BFGS-B step
    with threadpool_limits(limits=1):
        first = minimize(
            finite, start, method="L-BFGS-B", jac=jac, bounds=bounds, options={"ftol": 1e-12}
        )
        best = first
        if not first.success:  # a derivative-free polish where the gradient search stalled
            second = minimize(
                value_only, first.x, method="Nelder-Mead",
                options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 1000},
            )
            best = second if second.fun <= first.fun else first
    if not best.fun < 1e300:
        raise ValueError("BTYD fit failed: the log-likelihood is not finite at any tried point.")
    return best.x
