"""The data collection pages, driven through HTTP as a coordinator uses them."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opencrf.records.models import FormData, Record
from opencrf.records.services import form_save, record_create
from opencrf.records.tests.conftest import snapshot

pytestmark = pytest.mark.django_db


def form_url(project, record_id, event, form, instance=1):
    return reverse("records:form", args=[project.pk, record_id, event, form, instance])


def screening_post(page, **values):
    """The screening form as the browser posts it, from the page's hidden fields."""
    html = page.context
    data = {
        "base_version": html["base_version"],
        "base_values": html["base_values"],
        "consent_date": "2026-04-23",
        "initials": "AN",
        "dob": "2004-06-21",
        "sex": "2",
        "pregnant": "0",
        "incl___1": "1",
        "incl___2": "1",
        "incl___3": "1",
        "ineligible_reason": "",
        "screening_complete": "2",
        "reason": "",
        "action": "stay",
    }
    data.update(values)
    return data


def test_dashboard_lists_records_with_their_form_statuses(
    client, pi_paula, salt_rct, events, paula_context
):
    one = record_create(context=paula_context, project=salt_rct)
    record_create(context=paula_context, project=salt_rct)
    form_save(
        context=paula_context,
        record=one,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "AN"},
        status=2,
        base_version=0,
    )
    form_save(
        context=paula_context,
        record=one,
        event=events["baseline_arm_1"],
        form_name="baseline",
        values={"height": "170.0"},
        status=1,
        base_version=0,
    )
    client.force_login(pi_paula)

    page = client.get(reverse("records:dashboard", args=[salt_rct.pk]))

    assert page.status_code == 200
    rows = {record.record_id: cells for record, _lock, cells in page.context["rows"]}
    assert list(rows) == ["1", "2"]
    columns = [(e.unique_name, f.name) for e, f in page.context["columns"]]
    statuses = dict(zip(columns, [c.status for c in rows["1"]], strict=True))
    assert statuses[("screening_arm_1", "screening")] == 2
    assert statuses[("baseline_arm_1", "baseline")] == 1
    assert statuses[("baseline_arm_1", "visit")] is None
    assert {c.status for c in rows["2"]} == {None}
    assert 'class="crf-status crf-status-2"' in page.content.decode()


def test_dashboard_search_keeps_matching_records(client, pi_paula, salt_rct, paula_context):
    for record_id in ("A-1", "B-2", "A-3"):
        record_create(context=paula_context, project=salt_rct, record_id=record_id)
    client.force_login(pi_paula)

    page = client.get(reverse("records:dashboard", args=[salt_rct.pk]), {"search": "a-"})

    assert [record.record_id for record, _lock, _cells in page.context["rows"]] == ["A-1", "A-3"]
    assert page.context["total"] == 2


def test_a_dashboard_page_past_the_end_shows_the_last_page(
    client, pi_paula, salt_rct, paula_context
):
    record_create(context=paula_context, project=salt_rct, record_id="A-1")
    client.force_login(pi_paula)

    page = client.get(reverse("records:dashboard", args=[salt_rct.pk]), {"page": "5"})

    assert [record.record_id for record, _lock, _cells in page.context["rows"]] == ["A-1"]
    assert page.context["page"].number == 1
    assert "No records yet." not in page.content.decode()


@pytest.mark.parametrize("page_number", ["²", "9" * 5000, "0", "-3", "x"])
def test_a_dashboard_page_number_that_is_no_plain_number_shows_the_first_page(
    client, pi_paula, salt_rct, paula_context, page_number
):
    record_create(context=paula_context, project=salt_rct, record_id="A-1")
    client.force_login(pi_paula)

    page = client.get(reverse("records:dashboard", args=[salt_rct.pk]), {"page": page_number})

    assert page.status_code == 200
    assert page.context["page"].number == 1


def test_dashboard_queries_do_not_grow_with_the_records(
    client, pi_paula, salt_rct, paula_context, django_assert_max_num_queries
):
    for _ in range(30):
        record_create(context=paula_context, project=salt_rct)
    client.force_login(pi_paula)
    url = reverse("records:dashboard", args=[salt_rct.pk])
    client.get(url)  # a running server's per-process copies (design, banners) are made once

    with CaptureQueriesContext(connection) as thirty:
        page = client.get(url)
    for _ in range(30):
        record_create(context=paula_context, project=salt_rct)
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as sixty:
        more = client.get(url)

    assert (len(page.context["rows"]), len(more.context["rows"])) == (30, 50)  # a full page
    assert len(sixty) == len(thirty)


def test_adding_records_numbers_them_at_their_first_save(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    new = reverse("records:new", args=[salt_rct.pk])

    for _ in range(2):
        url = client.get(new)["Location"]
        client.post(url, screening_post(client.get(url)))

    assert list(Record.objects.filter(project=salt_rct).values_list("record_id", flat=True)) == [
        "1",
        "2",
    ]


def test_saving_screening_stores_the_computed_age(client, pi_paula, salt_rct, osaka_record):
    client.force_login(pi_paula)
    url = form_url(salt_rct, "1-1", "screening_arm_1", "screening")
    page = client.get(url)

    response = client.post(url, screening_post(page, action="exit"))

    assert response.status_code == 302
    assert response["Location"] == reverse("records:home", args=[salt_rct.pk, "1-1"])
    form = FormData.objects.get(record=osaka_record, form_name="screening")
    assert (form.values["age"], form.values["dob"], form.status) == ("21", "2004-06-21", 2)


def test_save_and_go_to_next_form_leads_to_the_next_designated_form(
    client, pi_paula, salt_rct, osaka_record
):
    client.force_login(pi_paula)
    url = form_url(salt_rct, "1-1", "baseline_arm_1", "baseline")
    page = client.get(url)
    data = {
        "base_version": page.context["base_version"],
        "base_values": page.context["base_values"],
        "height": "170.0",
        "action": "next",
    }

    response = client.post(url, data)
    back = client.get(response["Location"])

    # Required baseline fields are blank: the form comes back with them, and leads on from there.
    assert response["Location"] == url
    assert back.context["leave_url"] == form_url(salt_rct, "1-1", "baseline_arm_1", "visit")


def test_an_invalid_date_shows_the_form_again_and_saves_nothing(
    client, pi_paula, salt_rct, osaka_record
):
    client.force_login(pi_paula)
    url = form_url(salt_rct, "1-1", "screening_arm_1", "screening")
    page = client.get(url)
    before = snapshot(salt_rct)

    response = client.post(url, screening_post(page, dob="2004-13-45"))

    assert response.status_code == 400
    assert [p.field for _label, _anchor, p in response.context["problems"]] == ["dob"]
    html = response.content.decode()
    assert 'data-testid="error-summary"' in html
    assert 'id="error-dob"' in html
    assert 'value="2004-13-45"' in html
    assert snapshot(salt_rct) == before


def test_a_stale_version_shows_the_conflict_page_listing_the_field(
    client, pi_paula, salt_rct, osaka_record, events, paula_context
):
    client.force_login(pi_paula)
    url = form_url(salt_rct, "1-1", "screening_arm_1", "screening")
    client.post(url, screening_post(client.get(url)))
    page = client.get(url)
    form_save(
        context=paula_context,
        record=osaka_record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "ZZ"},
        base_version=page.context["base_version"],
    )
    before = snapshot(salt_rct)

    response = client.post(url, screening_post(page, initials="XY"))

    assert response.status_code == 409
    assert [(r["field"], r["yours"], r["theirs"]) for r in response.context["rows"]] == [
        ("initials", "XY", "ZZ")
    ]
    assert 'data-testid="conflict-fields"' in response.content.decode()
    assert snapshot(salt_rct) == before


def test_the_form_page_carries_logic_and_the_stored_version(
    client, pi_paula, salt_rct, osaka_record
):
    client.force_login(pi_paula)
    url = form_url(salt_rct, "1-1", "screening_arm_1", "screening")

    page = client.get(url)

    html = page.content.decode()
    assert page.context["base_version"] == 0
    assert json.loads(page.context["base_values"]) == {}
    assert 'id="crf-logic"' in html
    assert "opencrf/data-entry.js" in html
    assert page.context["logic"]["context"]["record"] == "1-1"


def test_record_home_lists_repeating_instances(
    client, pi_paula, salt_rct, osaka_record, events, paula_context
):
    for instance, term in ((1, "Dizziness"), (2, "Cough")):
        form_save(
            context=paula_context,
            record=osaka_record,
            event=events["week_12_arm_1"],
            form_name="adverse_event",
            instance=instance,
            values={"ae_term": term},
            base_version=0,
        )
    client.force_login(pi_paula)

    page = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"]))

    html = page.content.decode()
    assert "#1 Dizziness" in html
    assert "#2 Cough" in html
    assert form_url(salt_rct, "1-1", "week_12_arm_1", "adverse_event", 3) in html


def test_another_users_project_is_not_found(client, site_b_bea, salt_rct, osaka_record):
    client.force_login(site_b_bea)
    assert client.get(reverse("records:dashboard", args=[salt_rct.pk])).status_code == 404
    url = form_url(salt_rct, "1-1", "screening_arm_1", "screening")
    assert client.get(url).status_code == 404
    assert client.post(reverse("records:new", args=[salt_rct.pk])).status_code == 404
    assert not Record.objects.exclude(pk=osaka_record.pk).exists()


def test_a_site_user_cannot_open_another_sites_record(client, kyoto_bea, salt_rct, osaka_record):
    client.force_login(kyoto_bea)

    home = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"]))
    form = client.get(form_url(salt_rct, "1-1", "screening_arm_1", "screening"))
    dashboard = client.get(reverse("records:dashboard", args=[salt_rct.pk]))

    assert (home.status_code, form.status_code) == (404, 404)
    assert dashboard.context["rows"] == []
