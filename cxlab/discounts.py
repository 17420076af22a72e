"""Discount dependence: who buys because of discounts, how strongly, and what is given away.

Shops see customers who buy only with a discount, and every promotion also discounts purchases
that would have been made anyway. This module answers, from a transaction log with a
``discount`` column (currency, the price reduction of the row; ``amount`` is what was paid):

* **per customer** — the share of purchases made with a discount, the depth of the discounts
  (the share of the list value ``amount + discount`` given off) and a discount-dependence segment
  by a stated rule (:func:`customer_discounts`);
* **the response** — how purchase incidence and the basket respond to the depth of the period's
  promotion *within* customers (:class:`DiscountResponse`), so that heavy habitual buyers, who
  simply collect more discounts, are not credited to the discounts;
* **the economics** — purchases and spend that the discounts added, and the margin given away on
  purchases that would have happened anyway, with intervals.

Design, and what it assumes
---------------------------
The promotion is read from the data as a **calendar**: a period's depth is the discount share of
the list value of all purchases in it (:func:`cxlab.data.discount_calendar`), grouped into bands
(none < 0.5 % <= small < 7.5 % <= medium < 15 % <= deep by default). The model therefore assumes
promotions offered to everyone in a period (weekly promotions, a store-wide sale); personal offers
that only the buyer sees would need the offers themselves, which the data contract does not carry.

Incidence: customer *i* makes ``Y_it`` purchases in period *t* with mean
``alpha_i * exp(beta_band(t))``. The customer effects ``alpha_i`` are conditioned out (the
fixed-effects Poisson of Hausman, Hall & Griliches 1984): given a customer's total ``n_i``, the
purchases fall into the bands with probabilities ``W_ik exp(beta_k) / sum_j W_ij exp(beta_j)``
(``W_ik`` periods of band *k*), so only changes within a customer identify ``beta``. The estimator
is consistent whenever the conditional mean is right, whatever the distribution of the counts
(Wooldridge 1999), and its standard errors are the sandwich clustered by customer. ``exp(beta_k)``
is the purchase rate in band-*k* periods relative to periods without a discount, averaged over
customers with weights = their purchases; customers who never respond pull it towards 1, as they
should. Only the periods strictly between a customer's first and last purchase period enter (see
:func:`cxlab.data.discount_cells`): the first purchase is certain, and after the last one the
customer may have left — counting those periods would mix the promotions that happened to fall
after customers left into the response.

Basket: ``log amount`` of each purchase on the band with customer fixed effects (the within
estimator), standard errors clustered by customer; ``exp(beta_k)`` is the geometric-mean paid
basket relative to undiscounted purchases of the same customers.

Economics: of the ``Y_k`` purchases in band-*k* periods, ``Y_k exp(-beta_k)`` would have been made
without the discount, so the incremental purchases are ``sum_k Y_k (1 - exp(-beta_k))`` and the
margin given away is the discount on the others, ``sum_k D_k exp(-beta_k)`` plus every discount in
first periods and in the no-discount band (nothing responds there); ``Y_k`` and ``D_k`` count all
purchases after the customer's first period. Intervals by the delta method
on the clustered covariance. The incremental margin uses the study's margin rate on the
incremental spend.

Everything is computed from per customer × band sums (:func:`cxlab.data.discount_cells`), a few
rows per customer whatever the size of the log.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Estimator, Result, Summary, to_builtin

__all__ = [
    "DEPENDENCE_SEGMENTS",
    "DiscountAnalysis",
    "DiscountResponse",
    "Interval",
    "customer_discounts",
    "discount_analysis",
    "naive_discount_comparison",
]

#: Discount-dependence segments in order (see :func:`customer_discounts` for the rule).
DEPENDENCE_SEGMENTS = ("only with a discount", "mostly with a discount", "sometimes with a discount",
                       "never with a discount", "too few purchases")
#: Purchases a customer needs before their share of discounted purchases places them in a segment.
MIN_PURCHASES = 3


# --------------------------------------------------------------------------- per customer
def customer_discounts(cells: pd.DataFrame, *, min_purchases: int = MIN_PURCHASES) -> pd.DataFrame:
    """Per-customer discount share, depth and discount-dependence segment.

    Parameters
    ----------
    cells : DataFrame
        :func:`cxlab.data.discount_cells`.
    min_purchases : int
        Fewer purchases than this leave a customer in "too few purchases" (one or two purchases
        make a share of 0 or 100 % by chance).

    Returns
    -------
    DataFrame indexed by ``customer_id``: ``purchases``, ``discounted`` (purchases with a
    discount), ``discount_share`` (= discounted / purchases), ``depth`` (discount / list value of
    all the customer's purchases), ``discount`` (currency), ``chance_share`` (share of the
    customer's periods that had a promotion: the discount share expected of a customer whose
    purchases ignore promotions) and ``segment``, by the rule: share = 100 % "only", >= 50 %
    "mostly", > 0 "sometimes", 0 "never".
    """
    g = cells.groupby("customer_id", sort=True)
    out = pd.DataFrame({
        "purchases": g["purchases"].sum(),
        "discounted": g["discounted"].sum(),
        "spend": g["spend"].sum(),
        "discount": g["discount"].sum(),
    })
    offer = cells["periods"].where(cells["band"] > 0, 0)
    out["chance_share"] = offer.groupby(cells["customer_id"]).sum() / g["periods"].sum()
    out["discount_share"] = out["discounted"] / out["purchases"].where(out["purchases"] > 0)
    list_value = out["spend"] + out["discount"]
    out["depth"] = out["discount"] / list_value.where(list_value > 0)
    share = out["discount_share"]
    segment = np.select([share >= 1.0, share >= 0.5, share > 0.0], DEPENDENCE_SEGMENTS[:3], DEPENDENCE_SEGMENTS[3])
    segment = np.where(out["purchases"] < min_purchases, DEPENDENCE_SEGMENTS[4], segment)
    out["segment"] = pd.Categorical(segment, categories=list(DEPENDENCE_SEGMENTS))
    return out[["purchases", "discounted", "discount_share", "depth", "discount", "chance_share", "segment"]]


def naive_discount_comparison(cells: pd.DataFrame) -> dict[str, float]:
    """The cross-customer comparison a within-customer model replaces (for contrast only).

    Purchases per period (after the first-purchase period, up to the last purchase) of customers who ever bought with a
    discount minus those of customers who never did, read as "what discounts add per customer and
    period". Biased upwards: the more a customer buys, the likelier one purchase falls into a
    promotion, so habitual heavy buyers land among the "discount users".
    """
    resp = cells[cells["stage"] != "first"]
    per = pd.DataFrame({"purchases": resp.groupby("customer_id")["purchases"].sum(),
                        "periods": resp.groupby("customer_id")["periods"].sum()})
    users = cells.groupby("customer_id")["discounted"].sum().reindex(per.index) > 0
    rate_users = per.loc[users, "purchases"].sum() / per.loc[users, "periods"].sum()
    rate_others = per.loc[~users, "purchases"].sum() / per.loc[~users, "periods"].sum()
    return {"rate_users": float(rate_users), "rate_non_users": float(rate_others),
            "difference_per_period": float(rate_users - rate_others),
            "ratio": float(rate_users / rate_others) if rate_others > 0 else float("nan")}


# --------------------------------------------------------------------------- within-customer models
def _band_matrices(cells: pd.DataFrame, columns: tuple[str, ...], n_bands: int, ids: pd.Index) -> list[np.ndarray]:
    """Each of ``columns`` summed per customer × band as a (customers, bands) matrix, one row per id of ``ids``
    (the same row order for every matrix; customers without cells get zeros)."""
    codes = ids.get_indexer(cells["customer_id"])
    bands = cells["band"].to_numpy()
    out = []
    for column in columns:
        matrix = np.zeros((len(ids), n_bands))
        np.add.at(matrix, (codes, bands), cells[column].to_numpy(dtype=float))
        out.append(matrix)
    return out


def _fe_poisson(W: np.ndarray, Y: np.ndarray, max_iter: int = 100,
                tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conditional (fixed-effects) Poisson MLE of band effects, band 0 the reference (Newton's method).

    ``W``, ``Y``: periods and counts per customer × band. With ``p_ik = W_ik e^b_k / sum_j W_ij e^b_j``
    the per-customer score is ``s_i = (Y_ik - n_i p_ik)_k`` and the information
    ``sum_i n_i (diag(p_i) - p_i p_i')`` (bands 1..K). Returns ``beta``, the covariance clustered by
    customer, ``I^-1 (sum_i s_i s_i') I^-1 * G / (G - 1)``, and each customer's influence on ``beta``,
    ``I^-1 s_i`` (one row per row of ``W``; zeros for customers without information).
    """
    rows = len(W)
    n = Y.sum(axis=1)
    keep = (n > 0) & ((W > 0).sum(axis=1) > 1)       # others carry no information on beta
    W, Y, n = W[keep], Y[keep], n[keep]

    def score_info(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = W * np.exp(np.r_[0.0, beta])
        P = (w / w.sum(axis=1, keepdims=True))[:, 1:]
        info = np.diag((n[:, None] * P).sum(axis=0)) - np.einsum("i,ij,ik->jk", n, P, P)
        return (Y[:, 1:] - n[:, None] * P), info

    beta = np.zeros(W.shape[1] - 1)
    for _ in range(max_iter):
        score, info = score_info(beta)
        step = np.linalg.solve(info, score.sum(axis=0))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    score, info = score_info(beta)
    bread = np.linalg.inv(info)
    G = len(n)
    influence = np.zeros((rows, len(beta)))
    influence[keep] = score @ bread
    return beta, bread @ (score.T @ score) @ bread * G / max(G - 1, 1), influence


def _fe_log_basket(N: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within (customer fixed effects) OLS of ``log amount`` on band dummies from per-cell sums.

    ``N``: baskets, ``S``: sums of ``log amount`` per customer × band. With ``x`` the band
    dummies (1..K), ``X~'X~ = sum_i diag(N_ik) - N_i q_i q_i'`` (``q_ik = N_ik / N_i``) and the
    cluster score ``u_i = (S_ik - N_ik S_i / N_i)_k - A_i beta``. Returns ``beta`` and the
    covariance clustered by customer.
    """
    n = N.sum(axis=1)
    keep = (n > 0) & ((N > 0).sum(axis=1) > 1)
    N, S, n = N[keep], S[keep], n[keep]
    Nk = N[:, 1:]
    A = np.einsum("ij,jk->ijk", Nk, np.eye(Nk.shape[1])) - np.einsum("ij,ik->ijk", Nk, Nk) / n[:, None, None]
    b = S[:, 1:] - Nk * (S.sum(axis=1) / n)[:, None]
    XtX = A.sum(axis=0)
    beta = np.linalg.solve(XtX, b.sum(axis=0))
    u = b - np.einsum("ijk,k->ij", A, beta)
    bread = np.linalg.inv(XtX)
    G = len(n)
    cov = bread @ (u.T @ u) @ bread * G / max(G - 1, 1)
    return beta, cov


@dataclass
class Interval:
    """An estimate with its standard error and interval."""

    estimate: float
    se: float
    lower: float
    upper: float

    def covers(self, value: float) -> bool:
        return bool(self.lower <= value <= self.upper)

    def to_dict(self) -> dict[str, float]:
        return to_builtin({"estimate": self.estimate, "se": self.se, "lower": self.lower, "upper": self.upper})


class DiscountResponse(Estimator):
    """Purchase incidence and basket vs the depth of the period's promotion, within customers.

    See the module docstring for the model (fixed-effects Poisson for incidence, within OLS of
    ``log amount`` for the basket, both clustered by customer) and the economics.

    Parameters
    ----------
    confidence : float
        Level of the intervals.
    margin_rate : float or None
        Margin per unit of paid amount for the incremental margin (the study's margin rate);
        None leaves the incremental margin out.

    Attributes
    ----------
    incidence_ : DataFrame
        Per band with a discount: ``depth`` (mean depth of its periods, when a calendar is given),
        ``periods``, ``purchases``, ``multiplier`` (purchase rate relative to no discount),
        ``lower``, ``upper``, ``se_log``.
    basket_ : DataFrame
        Per band: ``baskets``, ``multiplier`` (geometric-mean paid basket relative to no discount),
        ``lower``, ``upper``, ``se_log``.
    incremental_purchases_, incremental_spend_, margin_given_away_, incremental_margin_,
    net_margin_ : Interval
        Purchases and paid spend the discounts added; discounts on purchases that would have been
        made anyway; the margin of the added spend (``margin_rate``) and it minus the margin given
        away (None without a margin rate).
    discount_total_ : float
        Every discount of the calendar's periods (the whole log's when a calendar is given).
    scale_ : float
        ``population / sampled``: what the sample's counts and totals are multiplied by (1 without a sample).
    n_customers_ : int
        Customers whose purchases inform the incidence model.
    """

    def __init__(self, confidence: float = 0.95, margin_rate: float | None = None):
        self.confidence = confidence
        self.margin_rate = margin_rate

    def fit(self, cells: pd.DataFrame, calendar: pd.DataFrame | None = None, *, population: int | None = None,
            sampled: int | None = None) -> "DiscountResponse":
        """Fit on :func:`cxlab.data.discount_cells` (and its :func:`cxlab.data.discount_calendar`).

        Parameters
        ----------
        cells, calendar : DataFrame
            The cells, and the calendar of the whole log (its ``discount`` sum is then the total).
        population, sampled : int, optional
            When ``cells`` hold a simple random sample of ``sampled`` customers out of ``population``
            (the study's customer sample; sampled customers without cells count as buying nothing),
            the economics are the client's totals, ``population / sampled`` times the sample's, and
            their intervals carry the sampling error as well as the model's: each is the linearised
            estimator ``N/n sum_i t_i(beta)`` with the influence of customer *i*
            ``N/n [sqrt(1 - n/N) (t_i - mean t) + g' I^-1 s_i]`` (Cochran 1977, eq. 2.12 for the
            first term, the delta method for the second; ``g = sum_i dt_i/dbeta``). Without a
            sample the first term vanishes and the interval is the delta method's.
        """
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence!r}")
        resp = cells[cells["stage"] == "between"]
        present = sorted(set(resp.loc[resp["periods"] > 0, "band"]))
        if 0 not in present or len(present) < 2:
            raise ValueError("the discount response needs periods without a discount and periods with one "
                             f"between customers' first and last purchases; bands present: {present}")
        ids = pd.Index(pd.unique(cells["customer_id"]))
        n = len(ids) if sampled is None else int(sampled)
        big_n = n if population is None else int(population)
        if n < len(ids) or big_n < n:
            raise ValueError(f"a sample of {n} customers out of {big_n} cannot hold the {len(ids)} customers "
                             "of the cells")
        self.scale_ = big_n / n
        # bands that never occur are dropped from the model (their columns are all zero)
        resp = resp[resp["band"].isin(present)]
        remap = {b: j for j, b in enumerate(present)}
        resp = resp.assign(band=resp["band"].map(remap))
        k = len(present)
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        W, Y = _band_matrices(resp, ("periods", "purchases"), k, ids)
        beta, cov, influence = _fe_poisson(W, Y)
        self.n_customers_ = int(((Y.sum(axis=1) > 0) & ((W > 0).sum(axis=1) > 1)).sum())
        se = np.sqrt(np.diag(cov))
        totals = resp.groupby("band")[["periods", "purchases", "spend", "discount"]].sum().reindex(range(k), fill_value=0)
        bands = np.array(present[1:])
        inc = pd.DataFrame({
            "band": bands,
            "periods": totals["periods"].to_numpy()[1:], "purchases": totals["purchases"].to_numpy()[1:],
            "multiplier": np.exp(beta), "lower": np.exp(beta - z * se), "upper": np.exp(beta + z * se),
            "se_log": se,
        })
        if calendar is not None:
            depth = calendar.groupby("band").apply(
                lambda c: c["discount"].sum() / (c["spend"] + c["discount"]).sum(), include_groups=False)
            inc.insert(1, "depth", depth.reindex(bands).to_numpy())
        self.incidence_ = inc.set_index("band")

        # basket: every purchase with a positive amount, first periods included (the fixed effect absorbs levels)
        all_cells = cells[cells["band"].isin(present)].assign(band=lambda c: c["band"].map(remap))
        N, S = _band_matrices(all_cells, ("baskets", "log_spend"), k, ids)
        b_beta, b_cov = _fe_log_basket(N, S)
        b_se = np.sqrt(np.diag(b_cov))
        self.basket_ = pd.DataFrame({
            "band": bands, "baskets": N.sum(axis=0)[1:], "multiplier": np.exp(b_beta),
            "lower": np.exp(b_beta - z * b_se), "upper": np.exp(b_beta + z * b_se), "se_log": b_se,
        }).set_index("band")

        # economics, per customer (bands with a response, every period after the first): purchases, spend and
        # discounts of band k, of which the share exp(-beta_k) would have happened anyway
        later = cells[(cells["stage"] != "first") & cells["band"].isin(present[1:])]
        later = later.assign(band=later["band"].map(remap) - 1)
        Yk, Sk, Dk = _band_matrices(later, ("purchases", "spend", "discount"), k - 1, ids)
        keep_share = np.exp(-beta)
        # first periods and bands without a response: every discount there is given away for certain
        certain = _band_matrices(cells.assign(band=0), ("discount",), 1, ids)[0][:, 0] - Dk.sum(axis=1)
        g = self.n_customers_
        scale, fpc, adjust = self.scale_, np.sqrt(max(1.0 - n / big_n, 0.0)), g / max(g - 1, 1)

        def total(per_customer: np.ndarray, gradient: np.ndarray) -> Interval:
            """The client's total of ``per_customer`` (one value per customer of the cells) and its interval;
            ``gradient``: d (sum of the values) / d beta."""
            mean = per_customer.sum() / n
            psi = scale * (fpc * (per_customer - mean) + influence @ gradient)
            # the sample's customers without cells: value 0, no influence on beta
            var = (np.sum(psi ** 2) + (n - len(ids)) * (scale * fpc * mean) ** 2) * adjust
            value, s_ = float(scale * per_customer.sum()), float(np.sqrt(var))
            return Interval(value, s_, value - z * s_, value + z * s_)

        # per customer: purchases and spend the discounts added, discounts given away; and their gradients
        added, added_grad = Yk @ (1 - keep_share), Yk.sum(axis=0) * keep_share
        spend, spend_grad = Sk @ (1 - keep_share), Sk.sum(axis=0) * keep_share
        given = certain + Dk @ keep_share
        given_grad = -Dk.sum(axis=0) * keep_share
        self.incremental_purchases_ = total(added, added_grad)
        self.incremental_spend_ = total(spend, spend_grad)
        self.margin_given_away_ = total(given, given_grad)
        self.discount_total_ = (float(calendar["discount"].sum()) if calendar is not None
                                else scale * float(cells["discount"].sum()))
        if self.margin_rate is not None:
            m = float(self.margin_rate)
            self.incremental_margin_ = total(m * spend, m * spend_grad)
            self.net_margin_ = total(m * spend - given, m * spend_grad - given_grad)
        else:
            self.incremental_margin_ = self.net_margin_ = None
        return self


# --------------------------------------------------------------------------- the study's analysis
@dataclass
class DiscountAnalysis(Result):
    """Discount dependence of one study: customers, segments, response and economics.

    Attributes
    ----------
    customers : DataFrame
        :func:`customer_discounts`.
    segments : DataFrame
        Per segment: ``customers``, ``share``, ``purchases``, ``discount``, ``mean_discount_share``,
        ``mean_chance_share``.
    calendar : DataFrame
        :func:`cxlab.data.discount_calendar`.
    response : DiscountResponse
        Fitted.
    naive : dict
        :func:`naive_discount_comparison`.
    period : str
        The period of the calendar (the study's unit).
    missing_discount : int
        Purchase rows without a discount value (counted as none).
    sample : CustomerSample or None
        The study's customer sample the customers, segments and response come from (None: every
        customer). The segments' counts and money are then the client's, estimated
        (``population / size`` times the sample's); the calendar is always the whole log's.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    calendar: pd.DataFrame
    response: DiscountResponse
    naive: dict
    period: str
    missing_discount: int = 0
    notes: list[str] = field(default_factory=list)
    sample: Any = None

    def summary(self) -> Summary:
        r = self.response
        money = {"incremental purchases": r.incremental_purchases_, "incremental spend": r.incremental_spend_,
                 "margin given away": r.margin_given_away_}
        if r.net_margin_ is not None:
            money |= {"incremental margin": r.incremental_margin_, "net margin": r.net_margin_}
        econ = pd.DataFrame({k: v.to_dict() for k, v in money.items()}).T
        return Summary("Discount dependence", [
            ("Discount-dependence segments", self.segments),
            ("Purchase incidence by discount band (within customers)", r.incidence_),
            ("Paid basket by discount band (within customers)", r.basket_),
            ("What the discounts added and gave away", econ),
        ], list(self.notes))

    def to_dict(self) -> dict[str, Any]:
        r = self.response
        return to_builtin({
            "segments": self.segments, "incidence": r.incidence_, "basket": r.basket_,
            "incremental_purchases": r.incremental_purchases_.to_dict(),
            "margin_given_away": r.margin_given_away_.to_dict(),
            "net_margin": None if r.net_margin_ is None else r.net_margin_.to_dict(),
            "discount_total": r.discount_total_, "naive": self.naive, "period": self.period,
        })


def _segments(customers: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
    """Customers, purchases and discounts per segment (times ``scale``: a sample's, raised to the client)."""
    g = customers.groupby("segment", observed=False)
    out = pd.DataFrame({
        "customers": g.size() * scale, "purchases": g["purchases"].sum() * scale, "discount": g["discount"].sum() * scale,
        "mean_discount_share": g["discount_share"].mean(), "mean_chance_share": g["chance_share"].mean(),
    })
    out.insert(1, "share", g.size() / max(len(customers), 1))
    return out


def discount_analysis(study: Any, *, confidence: float = 0.95) -> DiscountAnalysis:
    """The discount analysis of a study: its window, its unit as the promotion period, its margin.

    Aggregates through the data layer (:func:`cxlab.data.discount_cells`,
    :func:`cxlab.data.discount_calendar`); the log itself is never loaded into pandas. With the
    study's customer sample, the cells are the sampled customers' (the calendar stays the whole
    log's) and the totals are raised to the client with sampling intervals
    (:meth:`DiscountResponse.fit`).
    """
    from cxlab.data import discount_calendar, discount_cells

    tx = study.data.transactions
    sample = study.sample
    calendar = discount_calendar(tx, period=study.unit, observation_end=study.window_end)
    cells = discount_cells(tx, period=study.unit, observation_end=study.window_end,
                           customers=None if sample is None else sample.ids)
    customers = customer_discounts(cells)
    response = DiscountResponse(confidence=confidence, margin_rate=study.margin_rate).fit(
        cells, calendar, population=None if sample is None else sample.population,
        sampled=None if sample is None else sample.size)
    missing = int(calendar["missing_discount"].sum())
    notes = [f"{missing} purchase rows had no discount value and count as undiscounted."] if missing else []
    if sample is not None:
        notes.append(f"Customers, segments and the response are estimated from a random sample of {sample.size} of "
                     f"{sample.population} customers; counts and money are raised to all customers.")
    return DiscountAnalysis(customers, _segments(customers, response.scale_), calendar, response,
                            naive_discount_comparison(cells), study.unit, missing, notes, sample)
