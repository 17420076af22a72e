"""Time-varying covariates in the Pareto/NBD (Bachmann, Meierer & Näf 2021; CLVTools pnbd_dyncov)."""
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import gammaln

from cxlab._mle import numerical_gradient
from cxlab.ltv import ParetoNBD, TimeVaryingCovariates, membership_covariates
from cxlab.ltv.covariates import CovariateDesign
from cxlab.ltv.dyncov import DynamicRows, build_rows, dyn_loglik, dyn_rows_loglik, effective_times

APPAREL = Path(__file__).resolve().parents[1] / "data" / "apparel"
COVS = ["Gender", "Channel"]
C3 = ["High.Season", "Gender", "Channel"]


@pytest.fixture(scope="module")
def weekly_panel(apparel_transactions):
    dyn = pd.read_csv(APPAREL / "apparelDynCov.csv.gz")
    return TimeVaryingCovariates(dyn, transactions=apparel_transactions, unit="W", customer="Id", start="Cov.Date")


@pytest.fixture(scope="module")
def static_fit(apparel_summary):
    return ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS)


def test_constant_covariates_give_the_time_invariant_model(apparel_summary, apparel_transactions, static_fit,
                                                           weekly_panel):
    # (a) one row per customer; (b) CLVTools' weekly panel, where Gender/Channel never change
    cov = apparel_summary[COVS].reset_index()
    one_row = TimeVaryingCovariates(cov.assign(start="1900-01-01"), transactions=apparel_transactions, unit="W")
    m = static_fit
    for tvc in (one_row, weekly_panel):
        dyn = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, time_varying=tvc,
                              inference=False)
        assert dyn.log_likelihood(apparel_summary, params=m.params_) == pytest.approx(m.log_likelihood_, abs=1e-8)
        assert dyn.log_likelihood_ == pytest.approx(m.log_likelihood_, abs=1e-8)
        np.testing.assert_allclose(dyn.params_, m.params_, rtol=2e-5)
        np.testing.assert_allclose(dyn.probability_alive(apparel_summary, params=m.params_),
                                   m.probability_alive(apparel_summary), rtol=1e-9)
        np.testing.assert_allclose(dyn.expected_purchases(30, apparel_summary, params=m.params_),
                                   m.expected_purchases(30, apparel_summary), rtol=1e-9)


def _brute_force_loglik(params, gl, gt, summary, transactions, panel, i):
    """One customer's log-likelihood by adaptive quadrature of the integral, straight from the model."""
    r, al, s, be = params
    cid = summary.index[i]
    first = summary["first_purchase"].iloc[i].normalize()
    rows = panel[panel["Id"].astype(str) == cid].sort_values("Cov.Date")
    starts = ((pd.to_datetime(rows["Cov.Date"]) - first).dt.days / 7.0).to_numpy()
    X = rows[C3].to_numpy()
    T, x, tx = summary["T"].iloc[i], summary["frequency"].iloc[i], summary["recency"].iloc[i]

    def cov(u):
        return X[np.searchsorted(starts, u, side="right") - 1]

    cuts = np.r_[0.0, starts[(starts > 0) & (starts < T)], T]

    def cum(u, g):
        pts = np.r_[cuts[cuts < u], u]
        return sum(np.exp(cov((p + q) / 2) @ g) * (q - p) for p, q in zip(pts[:-1], pts[1:]))

    pts = np.unique(np.r_[tx, cuts[cuts > tx]])
    integral = sum(integrate.quad(lambda u: (al + cum(u, gt)) ** -(r + x) * np.exp(cov(u) @ gl)
                                  * (be + cum(u, gl)) ** -(s + 1), p, q, epsabs=0, epsrel=1e-12)[0]
                   for p, q in zip(pts[:-1], pts[1:]))
    days = pd.DatetimeIndex(transactions.loc[transactions["customer_id"] == cid, "timestamp"].dt.normalize().unique())
    taus = np.asarray((days - first).days / 7.0)
    purchase_term = sum(cov(u) @ gt for u in taus[(taus > 0) & (taus <= T)])
    return (purchase_term + gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be)
            + np.log((al + cum(T, gt)) ** -(r + x) * (be + cum(T, gl)) ** -s + s * integral))


def test_dyncov_loglik_matches_brute_force_quadrature(apparel_summary, apparel_transactions, weekly_panel):
    design = CovariateDesign(C3, C3)
    d = build_rows(ParetoNBD(), apparel_summary, weekly_panel, design, collapse=False)
    params, gl, gt = np.array([1.3, 60.0, 0.9, 40.0]), np.array([-0.7, 0.3, -0.2]), np.array([0.8, -0.4, 0.5])
    ll = dyn_rows_loglik(params, gl, gt, d)
    panel = pd.read_csv(APPAREL / "apparelDynCov.csv.gz")
    for i in (0, 17, 123, 300, 599):
        assert ll[i] == pytest.approx(_brute_force_loglik(params, gl, gt, apparel_summary, apparel_transactions,
                                                          panel, i), abs=1e-9)


def test_analytic_gradient_matches_differences(apparel_summary, weekly_panel):
    design = CovariateDesign(["High.Season", "Gender"], ["Channel", "High.Season"], ["High.Season"])
    d = build_rows(ParetoNBD(), apparel_summary, weekly_panel, design)
    z = np.r_[np.log([1.3, 60.0, 0.9, 40.0]), 0.3, -0.5, 0.2]
    g = dyn_loglik(z, d, design)[1]
    num = numerical_gradient(lambda zz: dyn_loglik(zz, d, design, False)[0], z)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-5)


# ------------------------------------------------------------------ CLVTools' reference sheet
def _sheet_evaluator(ws):
    cache = {}

    def value(ref):
        if ref not in cache:
            v = ws[ref].value
            cache[ref] = _evaluate(v[1:], value) if isinstance(v, str) and v.startswith("=") else float(v)
        return cache[ref]

    return value


def _evaluate(formula, value):
    expr = re.sub(r"\b([A-Z]{1,2}[0-9]+)\b", lambda mt: repr(value(mt.group(1))), formula)
    return float(eval(expr.replace("INT(", "int("), {"__builtins__": {}}, {"int": int}))  # noqa: S307


def _rows_from_walk(values, d_first, t_first_end, n_customer_runs_before=()):
    """A customer whose covariate stretches are: earlier stretches, then one per walk element."""
    lo, hi, vals = [], [], []
    t = 0.0
    for v, length in n_customer_runs_before:
        lo.append(t), hi.append(t + length), vals.append(v)
        t += length
    edges = [t_first_end - d_first] + [t_first_end + k for k in range(len(values))]
    for k, v in enumerate(values):
        lo.append(max(edges[k], t) if k == 0 else edges[k]), hi.append(edges[k + 1]), vals.append(v)
    return np.array(lo), np.array(hi), np.array(vals)


def test_clvtools_reference_sheet_transaction_walk_sums():
    # Sheet "Bi()": for tau in aux-walk period i (period 1 holds t_x and ends d_1 later; the others are one
    # unit long), the purchase process's effective time since t_x is Bi + A_i * tau.
    ws = openpyxl.load_workbook(APPAREL / "dyncov_LL_reference.xlsx")["Bi()"]
    value = _sheet_evaluator(ws)
    tx, d1 = value("C2"), value("F2")
    checked = 0
    for data_row, first_formula, n in ((8, 11, 6), (19, 22, 4), (36, 39, 2), (43, 46, 1)):
        A = [value(f"{col}{data_row}") for col in "BCDEFG"[:n]]
        lo, hi, _ = _rows_from_walk(A, d1, tx + d1)
        lo[0] = 0.0  # the customer has been alive since 0; only the part after t_x matters here
        a = np.array(A)
        T = hi[-1]
        rows = DynamicRows(np.array([1.0]), np.array([tx]), np.array([T]), np.array([1.0]), np.zeros((1, 0)),
                           np.zeros(n, dtype=np.int64), lo, hi, np.zeros((n, 0)), np.zeros((n, 0)))
        eff = effective_times(a, np.ones(n), rows)
        B_tx = a[0] * tx
        for i in range(1, n + 1):
            Bi = value(f"C{first_formula + i - 1}")
            seg_start = max(lo[i - 1], tx)
            assert eff["B0"][i - 1] - B_tx == pytest.approx(Bi + A[i - 1] * seg_start, abs=1e-12), (data_row, i)
            checked += 1
        assert eff["BT"][0] - B_tx == pytest.approx(value(f"C{first_formula + n - 1}") + A[-1] * T, abs=1e-12)
    assert checked == 13


def test_clvtools_reference_sheet_lifetime_walk_sums():
    # Sheet "Di()": the lifetime process's effective time since coming alive, D(tau) = Di + C_i tau, for tau in
    # aux-walk period i; the real walk (periods between 0 and the period of t_x) starts with d_omega.
    ws = openpyxl.load_workbook(APPAREL / "dyncov_LL_reference.xlsx")["Di()"]
    value = _sheet_evaluator(ws)
    d_omega = value("E2")
    # (row of walk data, real-walk columns, aux-walk columns, first formula row)
    blocks = [(10, "", "D", 13), (16, "", "DE", 19), (23, "", "DEF", 26), (31, "", "DEFG", 34),
              (41, "B", "D", 44), (47, "B", "DE", 50), (54, "B", "DEF", 57), (62, "B", "DEFG", 65),
              (71, "BC", "E", 74), (77, "BC", "EF", 80), (84, "BC", "EFG", 87), (92, "BC", "EFGH", 95)]
    checked = 0
    for row, real_cols, aux_cols, first_formula in blocks:
        R = [value(f"{c}{row}") for c in real_cols]
        C = [value(f"{c}{row}") for c in aux_cols]
        vals = R + C
        # period 1 of the whole walk is [0, d_omega); the others are one unit long
        edges = np.r_[0.0, d_omega + np.arange(len(vals))]
        lo, hi = edges[:-1], edges[1:]
        n = len(vals)
        tx = lo[len(R)] if R else 0.0  # t_x anywhere in the first aux period
        rows = DynamicRows(np.array([1.0]), np.array([tx]), np.array([hi[-1]]), np.array([1.0]), np.zeros((1, 0)),
                           np.zeros(n, dtype=np.int64), lo, hi, np.zeros((n, 0)), np.zeros((n, 0)))
        eff = effective_times(np.ones(n), np.array(vals), rows)
        for i in range(1, len(C) + 1):
            Di = value(f"D{first_formula + i - 1}")
            k = len(R) + i - 1  # the stretch of aux period i
            seg = int(np.flatnonzero(rows.seg_run == k)[0])
            assert eff["D0"][seg] == pytest.approx(Di + C[i - 1] * rows.seg_lo[seg], abs=1e-12), (row, i)
            checked += 1
    assert checked == 30


def test_distance_to_the_end_of_the_covariate_week(apparel_transactions):
    # Sheet "Walk d" (2022) has d = 7 - k days for a transaction on day k of the week; CLVTools' PR #205
    # (2023, "d shall be 1 if it is exactly on the time unit lower boundary") made it 8 - k days, in (0, 1]
    # weeks: a week's covariate holds from the start of its first day. cxlab follows the current rule.
    ws = openpyxl.load_workbook(APPAREL / "dyncov_LL_reference.xlsx")["Walk d"]
    sheet_d = {}
    for r in range(1, 60):
        if ws[f"A{r}"].value == "Transaction":
            day = next(ws.cell(row=r - 1, column=c).value for c in range(2, 23) if ws.cell(row=r, column=c).value)
            sheet_d[day] = ws[f"B{r + 1}"].value
    assert sheet_d == {1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1, 7: 0}
    for day, d_sheet in sheet_d.items():
        week0 = pd.Timestamp("2005-01-02")  # a Sunday, start of a covariate week
        buy = week0 + pd.Timedelta(days=day - 1)
        tx = pd.DataFrame({"customer_id": ["c", "c"], "timestamp": [week0 - pd.Timedelta(days=14), buy],
                           "amount": [1.0, 1.0]})
        panel = pd.DataFrame({"customer_id": "c", "start": [week0 - pd.Timedelta(days=14), week0,
                                                            week0 + pd.Timedelta(days=7)], "z": [0.0, 1.0, 0.0]})
        from cxlab.data import customer_summary

        end = week0 + pd.Timedelta(days=20)
        summary = customer_summary(tx, unit="W", calibration_end=end, observation_end=end)
        d = build_rows(ParetoNBD(), summary, TimeVaryingCovariates(panel, transactions=tx, unit="W"),
                       CovariateDesign(["z"], []), collapse=False)
        first_stretch = int(d.seg_run[0])
        assert d.run_Xt[first_stretch, 0] == 1.0  # the purchase day's week
        assert d.seg_len[0] * 7 == pytest.approx(d_sheet + 1)


def test_apparel_time_varying_high_season(apparel_summary, weekly_panel):
    # CLVTools publishes no estimates of this model (the vignette's dyncov chunks are not evaluated; its tests
    # use 10-iteration Nelder-Mead "quick fits"). With High.Season in the purchase process the fit converges:
    m = ParetoNBD().fit(apparel_summary, trans_covariates=C3, life_covariates=COVS, time_varying=weekly_panel)
    assert m.converged_, m.mle_.message
    assert m.log_likelihood_ == pytest.approx(-5753.3257, abs=1e-3)
    assert m.params_["trans.High.Season"] == pytest.approx(0.7195, abs=1e-3)
    # High.Season doubles the purchase rate; Gender and Channel keep their static-model effects
    assert 1.8 < np.exp(m.params_["trans.High.Season"]) < 2.3
    assert m.params_["trans.Channel"] == pytest.approx(0.62, abs=0.02)
    # and in the lifetime process as well, its coefficient has no finite maximum (the likelihood keeps rising
    # as it goes to -inf): the fit says so instead of printing a number
    both = ParetoNBD().fit(apparel_summary, trans_covariates=C3, life_covariates=C3, time_varying=weekly_panel)
    assert not both.converged_ and both.params_["life.High.Season"] < -10
    assert "no finite maximum" in both.mle_.message and "life.High.Season" in both.mle_.message
    assert both.log_likelihood_ - m.log_likelihood_ < 1.0


def test_membership_covariates_panel():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "loyalty_join_date": [pd.Timestamp("2024-03-05 13:00"), pd.NaT, "2024-01-01"],
                              "left": [pd.NaT, pd.NaT, "2024-06-01"]})
    p = membership_covariates(customers, end_column="left")
    assert p.groupby("customer_id").size().to_dict() == {"a": 2, "b": 1, "c": 3}
    assert p.loc[p["customer_id"] == "a", "start"].iloc[1] == pd.Timestamp("2024-03-05")
    assert p.loc[p["customer_id"] == "c", "member"].tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="loyalty_join_date"):
        membership_covariates(customers.drop(columns="loyalty_join_date"))


def test_bad_panels_are_named(apparel_summary, apparel_transactions):
    late = pd.DataFrame({"customer_id": apparel_summary.index, "start": "2006-01-01", "z": 1.0})
    tvc = TimeVaryingCovariates(late, transactions=apparel_transactions, unit="W")
    with pytest.raises(ValueError, match="starts after the first purchase"):
        ParetoNBD().fit(apparel_summary, trans_covariates=["z"], time_varying=tvc)
    part = late.iloc[:10].assign(start="1900-01-01")
    with pytest.raises(ValueError, match="no rows in the covariate panel"):
        ParetoNBD().fit(apparel_summary, trans_covariates=["z"],
                        time_varying=TimeVaryingCovariates(part, transactions=apparel_transactions))
    ok = late.assign(start="1900-01-01", z=np.arange(len(late)) % 2)
    with pytest.raises(ValueError, match="not in the time-varying panel"):
        ParetoNBD().fit(apparel_summary, trans_covariates=["zz"],
                        time_varying=TimeVaryingCovariates(ok, transactions=apparel_transactions))
    with pytest.raises(TypeError, match="TimeVaryingCovariates"):
        ParetoNBD().fit(apparel_summary, trans_covariates=["z"], time_varying=ok)
    from cxlab.ltv import BGNBD

    with pytest.raises(ValueError, match="ParetoNBD only"):
        BGNBD().fit(apparel_summary, trans_covariates=["z"],
                    time_varying=TimeVaryingCovariates(ok, transactions=apparel_transactions))
