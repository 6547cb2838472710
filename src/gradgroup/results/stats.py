"""Paired statistics over seeds: is arm A better than baseline B when both ran on the same seeds?

Numbers only (mIoU per seed, read from metrics.json by the caller); usable by any table. For one
comparison, runs are paired by seed and d_i = A_i - B_i:

- ``mean_diff``: the mean of d.
- ``ci_low``/``ci_high``: the 95% interval that agrees with the test below (`sign_flip_interval`: every
  shift the sign-flip test does not reject), so a verdict's p and its interval never disagree; None below
  6 seeds, where no shift can be rejected. `bootstrap_ci` (BCa; Efron 1987, ``scipy.stats.bootstrap``,
  9,999 resamples from the fixed seed `RESAMPLING_SEED`) is kept for callers that want it; at n = 12 it
  covered the true mean of synthetic normal differences in about 91% of 200 draws (tests/test_stats.py),
  a known small-sample shortfall, which is why comparisons no longer use it.
- ``p_value``: the exact two-sided sign-flip permutation test of mean(d) = 0 (Fisher's paired
  randomisation test): under the null each d_i is as likely to have had the other sign, so p is the share
  of all 2^n sign patterns whose |sum| is at least the observed |sum|. Enumerated exactly for n <= 16
  (65,536 patterns); above that, estimated from `MONTE_CARLO_PATTERNS` random patterns from the fixed
  seed, as (1 + hits) / (1 + patterns) (Phipson & Smyth 2010), so it is never 0. The smallest p at n
  paired seeds is 2 / 2^n: 0.25 at n = 3, 0.031 at n = 6.
- ``p_holm``: Holm's step-down adjustment (Holm 1979) across the family of comparisons reported together.
- ``prob_improvement``: the share of seeds where A beat B; a tie (d = 0) counts one half.
- ``mde``: the minimum detectable effect at this n: the smallest true mean difference a paired t-test at
  two-sided alpha 0.05 finds with 80% power, given the observed standard deviation of d (noncentral t;
  the sign-flip test has about the power of the t-test for near-normal differences). None when n < 6,
  where no sign-flip p can reach 0.05 whatever the effect.

Per-arm means in tables use `t_interval` (Student t, 95%, from mean, sample std and n).
"""
from __future__ import annotations

import functools
import math
from typing import Mapping, Sequence

import numpy as np
from scipy import optimize, stats

LEVEL = 0.95
N_RESAMPLES = 9999
RESAMPLING_SEED = 0
EXACT_MAX_N = 16
MONTE_CARLO_PATTERNS = 100_000
ALPHA = 0.05
POWER = 0.80
CI_METHOD = "inverted sign-flip"


def paired(arm: Mapping, base: Mapping) -> tuple[list, np.ndarray]:
    """The seeds both arms ran (sorted) and the differences arm - base on them."""
    seeds = sorted(set(arm) & set(base), key=lambda s: (str(type(s)), s))
    return seeds, np.array([float(arm[s]) - float(base[s]) for s in seeds], dtype=float)


@functools.lru_cache(maxsize=4)  # a comparison's p and its interval enumerate the same patterns
def _sign_patterns(n: int) -> tuple[np.ndarray, bool]:
    """The sign patterns the test enumerates, one per row, and whether they are all 2^n of them (n <= 16)
    or `MONTE_CARLO_PATTERNS` random ones from the fixed seed."""
    if n <= EXACT_MAX_N:
        return (1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)).astype(float), True
    return np.random.default_rng(RESAMPLING_SEED).choice((-1.0, 1.0), size=(MONTE_CARLO_PATTERNS, n)), False


def _p_from(signs: np.ndarray, exact: bool, d: np.ndarray) -> float:
    observed = abs(d.sum())
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))  # float sums of the same terms in another order
    hits = int(np.sum(np.abs(signs @ d) >= observed - tol))
    return hits / signs.shape[0] if exact else (1 + hits) / (1 + signs.shape[0])


def sign_flip_p(diffs: Sequence[float]) -> float:
    """Two-sided p of the sign-flip permutation test of mean = 0: exact for n <= 16, Monte Carlo above."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return 1.0
    return _p_from(*_sign_patterns(d.size), d)


def sign_flip_interval(diffs: Sequence[float], alpha: float = ALPHA) -> tuple[float, float] | tuple[None, None]:
    """The interval that agrees with the sign-flip test: every shift delta whose test of mean(d) = delta
    (the test on d - delta) does not reject at two-sided `alpha` (inverting the test; Lehmann & Romano,
    Testing Statistical Hypotheses, 3.5). So "p < alpha" and "the interval excludes 0" say the same thing
    (up to the bisection tolerance, 1e-6 of the spread). None, None when n is too small for any p to reach
    `alpha` (below `min_seeds_for`): the interval is then the whole line."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0 or smallest_p(d.size) >= alpha:
        return None, None
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])
    signs, exact = _sign_patterns(d.size)
    centre = float(d.mean())
    tol = 1e-6 * float(d.max() - d.min())

    def edge(outside: float) -> float:
        # p(centre) = 1 and p(outside) <= smallest_p < alpha (all of d - outside one sign): bisect between.
        inside = centre
        while abs(outside - inside) > tol:
            mid = (inside + outside) / 2
            if _p_from(signs, exact, d - mid) > alpha:
                inside = mid
            else:
                outside = mid
        return inside

    spread = float(d.max() - d.min())
    return edge(float(d.min()) - spread), edge(float(d.max()) + spread)


def smallest_p(n: int) -> float:
    """The smallest two-sided sign-flip p that n paired seeds can give: 2 / 2^n (all differences one way)."""
    return 2.0 / 2 ** n if n > 0 else 1.0


def min_seeds_for(alpha: float = ALPHA) -> int:
    """The fewest paired seeds whose smallest sign-flip p is below alpha (6 at 0.05)."""
    n = 1
    while smallest_p(n) >= alpha:
        n += 1
    return n


def bootstrap_ci(diffs: Sequence[float], level: float = LEVEL) -> tuple[float, float] | tuple[None, None]:
    """BCa bootstrap interval of the mean of `diffs` (fixed resampling seed); None, None for n < 2."""
    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        return None, None
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])
    res = stats.bootstrap((d,), np.mean, confidence_level=level, n_resamples=N_RESAMPLES, method="BCa",
                          rng=np.random.default_rng(RESAMPLING_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def prob_improvement(diffs: Sequence[float]) -> float | None:
    """Share of pairs where the arm won (d > 0), ties counting one half; None without pairs."""
    d = np.asarray(diffs, dtype=float)
    return None if d.size == 0 else float((np.sum(d > 0) + 0.5 * np.sum(d == 0)) / d.size)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order: sorted ascending, the i-th (0-based) of m
    is multiplied by m - i, made non-decreasing, capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (p.size - np.arange(p.size))))
    out = np.empty_like(p)
    out[order] = adjusted
    return [float(v) for v in out]


def min_detectable_effect(n: int, sd: float, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """Smallest true mean difference a two-sided paired t-test detects with `power` at `alpha`, n pairs
    of observed std `sd`; None when n < 6 (no sign-flip test reaches p < 0.05 then) or sd is unknown."""
    if n < 6 or sd is None or not math.isfinite(sd):
        return None
    if sd == 0:
        return 0.0
    df, crit = n - 1, stats.t.ppf(1 - alpha / 2, n - 1)

    def short_of_power(delta: float) -> float:
        nc = delta * math.sqrt(n) / sd
        wrong_side = stats.nct.cdf(-crit, df, nc)  # ~0 here; scipy returns NaN for it at large nc
        return stats.nct.sf(crit, df, nc) + (wrong_side if math.isfinite(wrong_side) else 0.0) - power

    return float(optimize.brentq(short_of_power, 1e-9 * sd, 8 * sd))  # power ~1 at 8 sd for n >= 6


def t_interval(mean, std, n, level: float = LEVEL) -> tuple[float, float] | tuple[None, None]:
    """Student-t interval of a mean over n seeds from its sample std; None, None when n < 2."""
    if mean is None or std is None or n is None or n < 2 or not math.isfinite(std):
        return None, None
    half = stats.t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n)
    return float(mean - half), float(mean + half)


def describe(values: Sequence[float]) -> dict:
    """n, mean, sample std (None for one value) and the 95% t interval of the mean of `values` (n >= 1)."""
    v = np.asarray(values, dtype=float)
    std = float(np.std(v, ddof=1)) if v.size > 1 else None
    low, high = t_interval(float(v.mean()), std, int(v.size))
    return {"n": int(v.size), "mean": float(v.mean()), "std": std, "ci_low": low, "ci_high": high}


def compare(arm: Mapping, base: Mapping) -> dict:
    """One paired comparison of per-seed values {seed: value}: every statistic above except p_holm."""
    seeds, d = paired(arm, base)
    n = int(d.size)
    sd = float(np.std(d, ddof=1)) if n > 1 else None
    low, high = sign_flip_interval(d)
    return {"n": n, "seeds": seeds, "mean_diff": float(d.mean()) if n else None, "sd_diff": sd,
            "ci_low": low, "ci_high": high, "p_value": sign_flip_p(d) if n else None,
            "prob_improvement": prob_improvement(d), "wins": int(np.sum(d > 0)), "ties": int(np.sum(d == 0)),
            "mde": min_detectable_effect(n, sd)}


def adjust_family(comparisons: list[dict]) -> list[dict]:
    """Add ``p_holm`` to every comparison with a p-value, adjusting across all of them as one family."""
    tested = [c for c in comparisons if c.get("p_value") is not None]
    for c, p in zip(tested, holm([c["p_value"] for c in tested])):
        c["p_holm"] = p
    for c in comparisons:
        c.setdefault("p_holm", None)
    return comparisons
