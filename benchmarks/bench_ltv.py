"""Benchmark: BG/NBD and Pareto/NBD fits on 1,000,000 customers, cxlab vs `lifetimes`.

Run: ``python benchmarks/bench_ltv.py [--n 1000000] [--pareto-baseline-n 100000]``

Data: 1M customer summaries simulated from the BG/NBD at the published CDNOW
parameters, acquisition staggered uniformly over 52 weeks, in weeks with a
daily grid (what ``customer_summary(unit="W")`` produces). Both libraries fit
the same data in the same run; the baseline is ``lifetimes`` 0.11.3
(``BetaGeoFitter``, ``ParetoNBDFitter``) when it imports, otherwise a plain
unweighted scipy fit of the same likelihood. The Pareto/NBD baseline is slow,
so by default it is timed on a 100,000-customer subsample and extrapolated
linearly to 1M (its cost is linear in the rows: no weighting) — the output
says so.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cxlab.ltv import BGNBD, ParetoNBD  # noqa: E402

TARGET_BG, TARGET_PNBD = 2.0, 30.0


def simulate(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 365, n) / 7.0  # first purchase 1..364 days before the end, in weeks
    sim = BGNBD().simulate(T, params=[0.243, 4.414, 0.793, 2.426], seed=seed + 1)
    # a daily grid as customer_summary gives; a repeat purchase is at least a day after the first
    rec = np.floor(sim["recency"].to_numpy() * 7) / 7
    sim["recency"] = np.where(sim["frequency"] > 0, np.maximum(rec, 1 / 7), 0.0)
    return sim


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def baseline_fitters():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes import BetaGeoFitter, ParetoNBDFitter
        return "lifetimes", BetaGeoFitter, ParetoNBDFitter
    except Exception as exc:  # pragma: no cover - depends on the environment
        print(f"lifetimes not importable ({exc}); baseline = unweighted scipy fit")
        return "scipy-unweighted", None, None


def scipy_unweighted(model_cls, data):
    """Same likelihood, one row per customer, Nelder-Mead without gradients: the naive approach."""
    from scipy import optimize
    m = model_cls()
    d = m._rows(data)
    x0 = np.log(m._initial(d))
    res = optimize.minimize(lambda lt: -m._total_loglik(np.exp(lt), d), x0, method="Nelder-Mead",
                            options={"maxiter": 2000, "xatol": 1e-6, "fatol": 1e-6})
    return np.exp(res.x)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--pareto-baseline-n", type=int, default=100_000)
    args = ap.parse_args(argv)

    data = simulate(args.n)
    print(f"{args.n:,} simulated customers; distinct (x, t_x, T) rows: "
          f"{len(data.drop_duplicates(['frequency', 'recency', 'T'])):,}")
    name, BG, PN = baseline_fitters()

    t_bg, bg = timed(lambda: BGNBD().fit(data))
    print(f"cxlab BGNBD      : {t_bg:7.2f} s  params {np.round(bg.params_.to_numpy(), 4)}  "
          f"(target < {TARGET_BG} s)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if BG is not None:
            tb_bg, base = timed(lambda: BG().fit(data["frequency"], data["recency"], data["T"]))
            base_params = np.array([base.params_[k] for k in ("r", "alpha", "a", "b")])
        else:
            tb_bg, base_params = timed(lambda: scipy_unweighted(BGNBD, data))
    print(f"{name} BG/NBD: {tb_bg:7.2f} s  params {np.round(base_params, 4)}")
    print(f"BG/NBD speed-up  : {tb_bg / t_bg:6.1f}x")

    t_pn, pn = timed(lambda: ParetoNBD().fit(data))
    print(f"cxlab ParetoNBD  : {t_pn:7.2f} s  params {np.round(pn.params_.to_numpy(), 4)}  "
          f"(target < {TARGET_PNBD} s)")
    sub_n = min(args.pareto_baseline_n, args.n)
    sub = data.sample(n=sub_n, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if PN is not None:
            tb_sub, base = timed(lambda: PN().fit(sub["frequency"], sub["recency"], sub["T"]))
            base_params = np.array([base.params_[k] for k in ("r", "alpha", "s", "beta")])
        else:
            tb_sub, base_params = timed(lambda: scipy_unweighted(ParetoNBD, sub))
    tb_pn = tb_sub * args.n / sub_n
    note = "" if sub_n == args.n else f" (measured {tb_sub:.1f} s on {sub_n:,}, extrapolated linearly)"
    print(f"{name} Pareto/NBD: {tb_pn:7.1f} s{note}  params {np.round(base_params, 4)} (subsample)")
    print(f"Pareto/NBD speed-up: {tb_pn / t_pn:6.1f}x")
    ok = t_bg < TARGET_BG and t_pn < TARGET_PNBD
    print(f"targets met: {ok}")


if __name__ == "__main__":
    main()
