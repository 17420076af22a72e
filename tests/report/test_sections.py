"""The section registry: no section vanishes, every fact comes from the study, texts complete in both languages."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from report_helpers import REPO, cdnow_sample_client, make_study, render, squash, text_of

from cxlab.data import ClientData
from cxlab.report import sections
from cxlab.report.sections import SECTION_ORDER
from cxlab.report.texts import load_texts, ui_texts
from cxlab.study import Study

SECTION_DIR = REPO / "cxlab" / "report" / "sections"


# --------------------------------------------------------------------------- texts as data
def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + str(k))
        if isinstance(v, dict):
            out |= _keys(v, f"{prefix}{k}.")
    return out


@pytest.mark.parametrize("name", [*SECTION_ORDER, "summary"])
def test_texts_have_the_same_keys_in_both_languages(name):
    texts = load_texts(name)
    assert texts["en"] and _keys(texts["en"]) == _keys(texts["ru"])
    assert "title" in texts["en"]


def test_ui_texts_have_the_same_keys():
    ui = ui_texts()
    assert _keys(ui["en"]) == _keys(ui["ru"])


@pytest.mark.parametrize("name", [*SECTION_ORDER, "summary"])
def test_every_text_a_section_names_exists(name):
    code = (SECTION_DIR / f"{name}.py").read_text(encoding="utf-8")
    texts = load_texts(name)["en"]
    used = set(re.findall(r"ctx\.(?:text|heading|how_to_read|caveat|note|tr)\(\s*\"(\w+)\"", code))
    used |= set(re.findall(r"ctx\.label\(\s*\"(\w+)\"", code))
    used |= set(re.findall(r"\bt\[\"(\w+)\"\]", code))
    assert used, name
    missing = sorted(k for k in used if k not in texts)
    assert not missing, f"{name}.py uses texts missing from {name}.yml: {missing}"
    for key in re.findall(r"ctx\.metric\(\s*\"(\w+)\"", code):
        from cxlab.report.context import metric_definitions

        assert key in metric_definitions(), f"{name}.py records {key!r}, not in metrics.yml"


def test_no_section_module_holds_texts_in_code():
    for path in SECTION_DIR.glob("*.py"):
        assert "TEXTS = {" not in path.read_text(encoding="utf-8"), path.name


# --------------------------------------------------------------------------- no section vanishes
def _transactions_only(ds):
    return Study(ClientData(ds.transactions), {}, lang="ru", currency="RUB", client="tx", display_name="Только чеки")


@pytest.fixture(scope="module")
def tx_only(demo_dataset):
    return render(_transactions_only(demo_dataset))


def test_a_client_with_only_transactions_renders_every_section(tx_only):
    ctx = tx_only
    assert list(ctx.sections) == list(SECTION_ORDER)
    status = {name: s["status"] for name, s in ctx.sections.items()}
    assert status == {"overview": "ok", "segments": "ok", "retention": "ok", "ltv": "ok",
                      "loyalty": "not_available", "survey": "not_available", "cx_drivers": "not_available",
                      "reactivation": "not_available", "discounts": "ok", "customer_equity": "ok"}
    html = ctx.to_html()
    for name in SECTION_ORDER:
        assert f'id="section-{name}"' in html, name
    text = text_of(ctx)
    assert "Недоступно: у клиента нет таблицы клиентов с датами вступления в программу" in text
    assert "Чтобы включить раздел: таблица клиентов с датой вступления" in text
    assert "Недоступно: у клиента нет таблицы опросов" in text
    # the executive summary names what is missing, and why
    summary = html[html.index('id="section-summary"'):]
    assert "Не вошло в отчёт: Программа лояльности" in text_of_html(summary)


def text_of_html(html: str) -> str:
    from bs4 import BeautifulSoup

    return squash(BeautifulSoup(html, "html.parser").get_text(" "))


def test_metrics_json_lists_every_section_with_status_and_reason(tx_only, tmp_path):
    import json

    tx_only.write_metrics(tmp_path / "m.json")
    saved = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    listed = {s["name"]: s for s in saved["sections"]}
    assert list(listed) == list(SECTION_ORDER)
    assert listed["survey"] == {"name": "survey", "status": "not_available",
                                "reason": "у клиента нет таблицы опросов"}
    assert listed["ltv"]["status"] == "ok" and listed["ltv"]["reason"] == ""


def test_a_section_that_raises_is_shown_as_failed_and_the_others_still_render(demo_dataset, monkeypatch):
    from cxlab.report.sections import ltv

    def boom(ctx):
        raise RuntimeError("model exploded <script>")

    monkeypatch.setattr(ltv, "build", boom)
    ctx = render(make_study(demo_dataset, churn_threshold_days=90))
    assert ctx.sections["ltv"] == {"status": "failed", "reason": "RuntimeError: model exploded <script>"}
    assert all(s["status"] == "ok" for n, s in ctx.sections.items() if n != "ltv")
    html = ctx.to_html()
    assert "<script>" not in html and "could not be computed" in html
    assert "Could not be computed: Customer lifetime value (RuntimeError: model exploded" in text_of(ctx)


def test_a_tiny_client_gets_notes_not_crashes():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [10.0, 12.0, 5.0],
                       "timestamp": pd.to_datetime(["2024-01-01", "2024-02-15", "2024-03-01"])})
    ctx = render(Study(ClientData(tx), {}))
    assert ctx.sections["overview"]["status"] == "ok"
    assert ctx.sections["ltv"]["status"] == "not_available"
    assert "too few customers for the lifetime-value models (2 customers, 1 of them bought twice" in \
        ctx.sections["ltv"]["reason"]
    assert not any(s["status"] == "failed" for s in ctx.sections.values()), ctx.sections


def test_the_cdnow_sample_as_a_client_has_a_churn_threshold_with_its_rule(tmp_path):
    from cxlab.study import open_study

    (tmp_path / "pyproject.toml").write_text("")
    cdnow_sample_client(tmp_path)
    study = open_study("cdnow", root=tmp_path)
    churn = study.churn
    # the pause curve levels off above 10 %, so the rule reads the percentile of the pauses that end
    assert churn.source == "returning_quantile" and churn.choice.plateau > 0.1
    assert 150 < churn.threshold_days < 400
    ctx = render(study, "retention")
    html = ctx.to_html()
    start = html.index("Когда клиент считается ушедшим")
    part = html[start:html.index("<h3", start + 10)]
    rows = re.findall(r"<tr>(.*?)</tr>", part[part.index("<tbody>"):])
    assert len(rows) == 3, "one row per quantile, none empty"
    text = text_of_html(part)
    assert f"{round(churn.threshold_days)} дн." in text and "которые заканчиваются" in text
    assert "X по заканчивающимся перерывам" in text
    assert ctx.metrics["churn_after_days"].value == churn.threshold_days


# --------------------------------------------------------------------------- one study, one truth
def test_every_section_reads_the_study_s_own_facts(demo_dataset, monkeypatch):
    """Durations, churn flags, calibration split, horizon and margin reach every analysis as the study's
    own objects; each data-layer result is computed once for the whole report."""
    import cxlab.data.aggregate as agg
    import cxlab.ltv as ltv_pkg
    import cxlab.survey as survey
    import cxlab.survival as survival
    import cxlab.uplift as uplift

    study = make_study(demo_dataset, churn_threshold_days=90)
    calls, seen = {}, {}

    def spy(module, name, record=None):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            key = (name, repr(sorted((k, str(v)) for k, v in kwargs.items())))
            calls[key] = calls.get(key, 0) + 1
            if record:
                seen.setdefault(name, []).append((args, kwargs))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for name in ("customer_summary", "cohort_counts", "customer_period_panel", "interpurchase_gaps",
                 "churn_durations", "log_overview"):
        spy(agg, name)
        import cxlab.data as data_pkg

        monkeypatch.setattr(data_pkg, name, getattr(agg, name))
    spy(uplift, "analyze_loyalty", record=True)
    spy(survey, "nps_behaviour", record=True)
    spy(survival, "fit_time_varying_cox", record=True)
    spy(ltv_pkg, "customer_lifetime_value", record=True)
    spy(ltv_pkg, "holdout_validation", record=True)
    ctx = render(study)
    assert all(s["status"] == "ok" for s in ctx.sections.values()), ctx.sections

    analyses = ("analyze_loyalty", "nps_behaviour", "fit_time_varying_cox", "customer_lifetime_value",
                "holdout_validation")
    repeated = {k: n for k, n in calls.items() if n > 1 and k[0] not in analyses}
    assert not repeated, f"data-layer results computed more than once: {repeated}"
    (args, kw), = seen["analyze_loyalty"]
    assert kw["durations"] is study.durations and kw["horizon_months"] == study.horizon_months
    assert kw["margin_rate"] == study.margin_rate and kw["costs"] is study.program_costs
    assert args[0] is study.panel()
    (args, kw), = seen["nps_behaviour"]
    assert args[1] is study.durations and args[2] is study.customer_summary
    assert kw["horizon"] == study.horizon_days
    assert len(seen["fit_time_varying_cox"]) == 2  # drivers of churn (retention), membership (loyalty)
    assert seen["fit_time_varying_cox"][0][0][0] is study.durations  # retention's, first
    for args, kw in seen["fit_time_varying_cox"]:  # the loyalty analysis works on its own copy of the same
        pd.testing.assert_frame_equal(args[0].set_axis(args[0].index.astype(str)),
                                      study.durations.set_axis(study.durations.index.astype(str)))
    (args, kw), = seen["customer_lifetime_value"]
    assert kw["horizon_months"] == study.horizon_months and kw["margin"] == study.margin_rate
    assert kw["discount_rate"] == study.monthly_discount_rate and args[2] is study.customer_summary
    (args, kw), = seen["holdout_validation"]
    assert args[1] is study.calibration_summary
    # the churn flags the report states are the study's
    assert ctx.metrics["churned_share"].value == pytest.approx(float(study.durations["event"].mean()), rel=1e-15)
    assert ctx.metrics["churn_after_days"].value == study.churn.threshold_days == 90
    assert np.isclose(study.calibration.holdout_weeks, (study.window_end - study.calibration_end).days / 7)
