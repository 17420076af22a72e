"""Programme economics: incremental margin minus programme cost, ROI, payback, with intervals.

Per member and month, with ``Δ`` the causal uplift in revenue (ATT),
``R₀`` the members' counterfactual revenue (what they would have spent anyway),
margin rate ``m``, reward rate ``r`` (discounts and points, as a share of
members' revenue), breakage ``b`` (share of points never redeemed):

* incremental margin ``= m·Δ``;
* rewards paid on the incremental revenue ``= r(1 − b)·Δ``;
* **subsidy** — rewards paid on revenue the members would have brought
  anyway ``= r(1 − b)·R₀`` (usually the largest cost of a loyalty programme);
* operating cost ``= c`` per member-month plus a fixed monthly cost ``F``;
* one-off launch cost ``L``.

Net value over ``H`` months for ``N`` members ``= H·N·(mΔ − r(1−b)(Δ + R₀) − c) − H·F − L``;
ROI = net value / total programme cost; payback = first month in which the
cumulative net value turns non-negative (never, if the monthly net is ≤ 0).
Confidence intervals propagate the sampling uncertainty of ``Δ`` by drawing
it from its normal sampling distribution (parametric bootstrap; other inputs
are business assumptions and are varied in the report's sensitivity table,
not sampled).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin

__all__ = ["ProgramCosts", "ProgramEconomics", "program_economics", "plot_roi_waterfall"]


@dataclass
class ProgramCosts:
    """Cost assumptions of a loyalty programme (money per month unless stated).

    Parameters
    ----------
    reward_rate : float
        Discounts and points as a share of members' revenue (e.g. 0.03).
    breakage : float
        Share of points never redeemed (0..1): reduces the reward cost.
    cost_per_member : float
        Operating cost per member per month (cards, messages, service).
    fixed_cost : float
        Fixed operating cost per month (platform, team).
    launch_cost : float
        One-off cost at the start.
    """

    reward_rate: float = 0.03
    breakage: float = 0.2
    cost_per_member: float = 0.0
    fixed_cost: float = 0.0
    launch_cost: float = 0.0

    def __post_init__(self):
        if not 0 <= self.reward_rate < 1:
            raise ValueError(f"reward_rate must be in [0, 1), got {self.reward_rate}")
        if not 0 <= self.breakage <= 1:
            raise ValueError(f"breakage must be in [0, 1], got {self.breakage}")
        for name in ("cost_per_member", "fixed_cost", "launch_cost"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


def _components(delta, baseline, members, horizon, margin_rate, c: ProgramCosts):
    delta = np.asarray(delta, dtype="float64")
    scale = members * horizon
    incremental_margin = margin_rate * delta * scale
    rewards_incremental = c.reward_rate * delta * scale
    subsidy = c.reward_rate * baseline * scale + 0 * delta
    breakage = c.breakage * (rewards_incremental + subsidy)
    operating = (c.cost_per_member * members + c.fixed_cost) * horizon + 0 * delta
    launch = c.launch_cost + 0 * delta
    cost = rewards_incremental + subsidy - breakage + operating + launch
    net = incremental_margin - cost
    monthly_net = net / horizon + launch / horizon  # before the one-off launch cost
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(cost > 0, net / cost, np.nan)
        payback = np.where(monthly_net > 0, np.maximum(1.0, np.ceil(launch / np.where(monthly_net > 0, monthly_net, 1))), np.inf)
    return {
        "incremental_margin": incremental_margin, "rewards_on_incremental": rewards_incremental,
        "subsidy_to_baseline": subsidy, "breakage": breakage, "operating_cost": operating, "launch_cost": launch,
        "program_cost": cost, "net_value": net, "roi": roi, "payback_months": payback,
    }


class ProgramEconomics(Result):
    """Point estimates and intervals of the programme's value."""

    def __init__(self, table: pd.DataFrame, waterfall: pd.DataFrame, inputs: dict[str, Any]):
        self.table = table
        self.waterfall = waterfall
        self.inputs = inputs

    def __getitem__(self, name: str) -> float:
        return float(self.table.loc[name, "estimate"])

    def summary(self) -> Summary:
        i = self.inputs
        return Summary(
            "Loyalty programme economics",
            [("Value over the horizon", self.table), ("Waterfall", self.waterfall.set_index("step"))],
            [f"{i['members']:,} members × {i['horizon_months']} months; uplift {i['uplift_per_member_month']:.4g} "
             f"(SE {i['uplift_se']:.3g}) per member-month on a counterfactual {i['baseline_per_member_month']:.4g}; "
             f"margin {i['margin_rate']:.0%}.",
             "Intervals propagate the uncertainty of the uplift only; costs are assumptions."],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"table": self.table, "waterfall": self.waterfall, "inputs": self.inputs})


def program_economics(
    uplift: float,
    uplift_se: float,
    *,
    baseline: float,
    members: int,
    horizon_months: int = 12,
    margin_rate: float = 0.3,
    costs: ProgramCosts | None = None,
    alpha: float = 0.05,
    n_draws: int = 4000,
    seed: int = 0,
) -> ProgramEconomics:
    """Net value, ROI and payback of the programme (see the module docstring).

    Parameters
    ----------
    uplift, uplift_se : float
        Causal revenue uplift per member per month and its standard error
        (e.g. the DR DiD estimate on spend).
    baseline : float
        Members' counterfactual revenue per month (their post-join revenue minus the uplift).
    members : int
        Number of members the figures are scaled to.
    """
    costs = costs or ProgramCosts()
    if members <= 0 or horizon_months <= 0:
        raise ValueError("members and horizon_months must be positive")
    if not 0 < margin_rate <= 1:
        raise ValueError(f"margin_rate must be in (0, 1], got {margin_rate}")
    if not np.isfinite(uplift) or not np.isfinite(uplift_se) or uplift_se < 0:
        raise ValueError("uplift and uplift_se must be finite, uplift_se >= 0")
    point = _components(uplift, baseline, members, horizon_months, margin_rate, costs)
    draws = np.random.default_rng(seed).normal(uplift, uplift_se, n_draws)
    sim = _components(draws, baseline, members, horizon_months, margin_rate, costs)
    lo, hi = alpha / 2, 1 - alpha / 2
    rows = {}
    for k, v in point.items():
        s = np.asarray(sim[k], dtype="float64")
        finite = s[np.isfinite(s)]
        rows[k] = {
            "estimate": float(v),
            "ci_low": float(np.quantile(s, lo)) if len(finite) == len(s) else (float(np.quantile(finite, lo)) if len(finite) else np.nan),
            "ci_high": float(np.quantile(s, hi)) if len(finite) == len(s) else np.inf,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.loc["probability_net_positive", ["estimate", "ci_low", "ci_high"]] = [float(np.mean(sim["net_value"] > 0)), np.nan, np.nan]
    waterfall = pd.DataFrame(
        {"step": ["incremental_margin", "rewards_on_incremental", "subsidy_to_baseline", "breakage", "operating_cost", "launch_cost", "net_value"],
         "amount": [point["incremental_margin"], -point["rewards_on_incremental"], -point["subsidy_to_baseline"], point["breakage"],
                    -point["operating_cost"], -point["launch_cost"], point["net_value"]]}
    )
    waterfall["amount"] = waterfall["amount"].astype("float64")
    inputs = {"uplift_per_member_month": uplift, "uplift_se": uplift_se, "baseline_per_member_month": baseline,
              "members": int(members), "horizon_months": int(horizon_months), "margin_rate": margin_rate, **asdict(costs)}
    return ProgramEconomics(table, waterfall, inputs)


def plot_roi_waterfall(data, *, labels: dict[str, str] | None = None, ax=None, money=None):
    """Waterfall from incremental margin to net value (green adds, red subtracts, blue total).

    Parameters
    ----------
    data : ProgramEconomics or DataFrame with ``step`` and ``amount`` (last row = total)
    labels : dict, optional
        Display names of the steps (for translated reports).
    money : callable, optional
        Formats the bar labels.
    """
    import matplotlib.pyplot as plt

    wf = data.waterfall if isinstance(data, ProgramEconomics) else data
    if not isinstance(wf, pd.DataFrame) or not {"step", "amount"} <= set(wf.columns):
        raise ValueError("plot_roi_waterfall needs a ProgramEconomics or a DataFrame with step, amount")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    labels = labels or {}
    steps = wf["step"].tolist()
    amounts = wf["amount"].to_numpy(dtype="float64")
    running = 0.0
    for i, (step, a) in enumerate(zip(steps, amounts)):
        if i == len(steps) - 1:
            bottom, height, color = 0.0, a, "C0"
        else:
            bottom, height = (running, a) if a >= 0 else (running + a, -a)
            color = "C2" if a >= 0 else "C3"
            running += a
        ax.bar(i, height if i < len(steps) - 1 else a, bottom=bottom, color=color, width=0.6)
        txt = money(a) if money else f"{a:,.0f}"
        ax.annotate(txt, (i, max(bottom + (height if i < len(steps) - 1 else a), bottom)), ha="center", va="bottom", fontsize=7)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(range(len(steps)), [labels.get(s, s.replace("_", " ")) for s in steps], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("value over the horizon")
    return ax
