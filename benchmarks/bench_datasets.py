"""Benchmark: time to generate the synthetic demo data set for 1,000,000 customers.

Goal: under 60 s on the 2-core CI machine.

Baselines, measured in the same run:

1. the same vectorized generator on 100,000 customers, scaled x10 (ratio near 1
   means the generator scales linearly);
2. a naive per-customer Python loop simulating the same purchase process
   (exponential gaps while alive, one Gamma draw per purchase) on 5,000
   customers, extrapolated linearly to 1,000,000 — what a straightforward
   implementation would cost.

Run: ``python benchmarks/bench_datasets.py [--customers 1000000]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from cxlab.datasets import make_demo_dataset


def naive_loop(n_customers: int, seed: int = 0, horizon_days: float = 1095.0) -> pd.DataFrame:
    """Per-customer loop over purchases (the baseline), returning a 3-column transaction frame.

    It covers only part of what the generator does (no loyalty program,
    counterfactuals, returns, surveys or extra columns), so the speed-up is a
    lower bound.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        start = rng.random() * horizon_days
        lam = rng.gamma(0.75, 1 / 4.0) / 7.0
        nu = rng.gamma(4.0, 1 / 1250.0)
        death = start + rng.exponential(1 / (0.012 / 7.0))
        stop = min(death, horizon_days)
        t = start
        while t < stop:
            rows.append((f"C{i:06d}", t, rng.gamma(6.0, 1.0) / nu))
            t += rng.exponential(1 / lam) if lam > 0 else np.inf
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    frame["timestamp"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(frame.pop("day"), unit="D")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.customers

    t0 = time.perf_counter()
    small = make_demo_dataset(n // 10, seed=1)
    t_small = time.perf_counter() - t0

    t0 = time.perf_counter()
    ds = make_demo_dataset(n, seed=1)
    t_full = time.perf_counter() - t0

    n_loop = 5000
    t0 = time.perf_counter()
    naive_loop(n_loop)
    t_loop = (time.perf_counter() - t0) * n / n_loop

    print(f"make_demo_dataset({n:,}): {t_full:.1f} s  "
          f"({len(ds.transactions):,} transactions, {len(ds.surveys):,} survey answers)  goal < 60 s")
    print(f"baseline 1: {n // 10:,} customers took {t_small:.2f} s -> x10 = {10 * t_small:.1f} s; "
          f"ratio full / scaled = {t_full / (10 * t_small):.2f}")
    print(f"baseline 2: naive per-customer loop on {n_loop:,} customers extrapolated to {n:,} = {t_loop:.0f} s; "
          f"speed-up = {t_loop / t_full:.1f}x")
    del small


if __name__ == "__main__":
    main()
