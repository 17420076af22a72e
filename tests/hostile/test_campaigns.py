"""Hostile campaigns tables: arms that are not treatment/control, unreadable send dates, negative costs,
repeated rows, customers the log does not know."""
from __future__ import annotations

import pytest

from ._corpus import rows

corpus = pytest.mark.corpus

TX = rows("1;2024-01-05;10", "2;2024-01-06;20", "3;2024-02-01;30", "1;2024-05-01;15")
CAMPAIGN_HEADER = "customer_id;campaign;sent_at;group;channel;cost"


def _client(project, *lines, header=CAMPAIGN_HEADER, entry=None):
    project.client(files={"tx.csv": TX, "camp.csv": rows(*lines, header=header)},
                   transactions={"path": "tx.csv"}, campaigns=entry or {"path": "camp.csv"})


@corpus("campaigns", "error")
def test_an_arm_that_is_neither_treatment_nor_control_is_never_guessed(project):
    _client(project, "1;winback;2024-03-01;treatment;sms;5", "2;winback;2024-03-01;test;sms;5",
            "3;winback;2024-03-01;control;sms;0")
    msg = project.error()
    assert "camp.csv" in msg and 'column "group"' in msg and "row 3" in msg
    assert '"treatment" or "control"' in msg and '"test"' in msg and "recode" in msg


@corpus("campaigns", "result")
def test_letter_case_and_spaces_of_the_arm_do_not_matter(project):
    _client(project, "1;winback;2024-03-01;Treatment ;sms;5", "2;winback;2024-03-01;CONTROL;sms;0")
    _, data = project.load()
    assert list(data.campaigns["group"]) == ["treatment", "control"]


@corpus("campaigns", "error")
def test_an_unparseable_send_date_names_the_row(project):
    _client(project, "1;winback;2024-03-01;treatment;sms;5", "2;winback;next tuesday;control;sms;0")
    msg = project.error()
    assert "camp.csv" in msg and 'column "sent_at"' in msg and "row 3" in msg and "next tuesday" in msg


@corpus("campaigns", "error")
def test_a_negative_cost_names_column_and_row(project):
    _client(project, "1;winback;2024-03-01;treatment;sms;5", "2;winback;2024-03-01;treatment;sms;-3")
    msg = project.error()
    assert 'column "cost"' in msg and "row 3" in msg and "at least 0" in msg and '"-3"' in msg


@corpus("campaigns", "error")
def test_one_customer_twice_in_one_campaign_is_refused(project):
    _client(project, "1;winback;2024-03-01;treatment;sms;5", "1;winback;2024-03-02;control;sms;0")
    msg = project.error()
    assert "customer_id, campaign is not unique" in msg and '"1"' in msg


@corpus("campaigns", "result")
def test_customers_absent_from_the_log_are_kept_and_flagged(project):
    _client(project, "1;winback;2024-03-01;treatment;sms;5", "9;winback;2024-03-01;control;sms;0")
    _, data = project.load()
    assert len(data.campaigns) == 2
    issues = [i for i in data.quality.select(kind="unknown_ids") if i.table == "campaigns"]
    assert len(issues) == 1 and issues[0].rows_count == 1
    assert "absent from the transaction log" in issues[0].message and "left out of the campaign evaluation" \
        in issues[0].message


@corpus("campaigns", "result")
def test_mapped_headers_and_no_group_or_campaign_column(project):
    _client(project, "1;01.03.2024;7", "2;01.03.2024;7", header="Клиент;Дата рассылки;Стоимость",
            entry={"path": "camp.csv", "dayfirst": True, "columns": {"Клиент": "customer_id", "Дата рассылки": "sent_at",
                                                   "Стоимость": "cost"}})
    cfg, data = project.load()
    assert list(data.campaigns.columns) == ["customer_id", "sent_at", "cost"]
    from cxlab.study import Study

    study = Study.from_config(cfg, data)
    assert study.has("campaigns")
    # the contract's rule: one campaign, every row treated
    assert set(study.campaigns["campaign"]) == {"campaign"} and set(study.campaigns["group"]) == {"treatment"}


@corpus("campaigns", "error")
def test_campaign_ids_in_another_format_stop_the_load(project):
    _client(project, "001;winback;2024-03-01;treatment;sms;5", "002;winback;2024-03-01;control;sms;0",
            "003;winback;2024-03-01;control;sms;0")
    msg = project.error()
    assert "customer_id formats differ" in msg and "leading zeros" in msg
