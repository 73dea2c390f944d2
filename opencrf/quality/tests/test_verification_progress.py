"""The Source data verification page counts, per form and site, the saved form instances the
user may see: verified, some fields verified, changed since verification, not verified."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.services import AuditContext
from opencrf.quality.verification_selectors import STATUSES
from opencrf.records.services import form_save

from . import verification_world as world
from .verification_world import unverify_url, verify

verifier = world.verifier  # fixtures
site_b_bea = world.site_b_bea

pytestmark = pytest.mark.django_db

BASELINE = ("baseline_arm_1", "baseline", 1)
HOKUREI = "北嶺医科大学病院 / Hokurei Medical University Hospital"
TOTO = "東都大学病院 / Toto University Hospital"
SETOUCHI = "瀬戸内みなと総合病院 / Setouchi Minato General Hospital"


def change(demo, record_id, place, values):
    event, form_name, instance = place
    form_save(
        context=AuditContext.system(),
        record=demo.records.get(record_id=record_id),
        event=demo.events.get(unique_name=event),
        form_name=form_name,
        instance=instance,
        values=values,
        base_version=None,
        reason="Corrected from source",
    )


@pytest.fixture
def monitored(demo, verifier, client, django_capture_on_commit_callbacks):
    """1-1 and 2-1 enrolment verified; 1-2 only its initials; 1-3 enrolment and 2-2 baseline
    changed since verification (2-2's height, verified on its own, still holds); 3-1 verified
    and taken back."""
    client.force_login(verifier)
    verify(client, demo, "1-1")
    verify(client, demo, "1-2", field="initials")
    verify(client, demo, "1-3")
    verify(client, demo, "2-1")
    verify(client, demo, "2-2", place=BASELINE)
    verify(client, demo, "2-2", field="height", place=BASELINE)
    verify(client, demo, "3-1")
    client.post(unverify_url(demo, "3-1"), {"field": "", "reason": "Wrong source document"})
    with django_capture_on_commit_callbacks(execute=True):
        change(demo, "1-3", world.ENROLMENT, {"initials": "QQ"})
        change(demo, "2-2", BASELINE, {"weight": "80.1"})
    client.logout()
    return demo


def progress_page(client, demo, **query):
    return client.get(reverse("quality:verification", args=[demo.pk]), query)


def table(response):
    progress = response.context["progress"]
    rows = [
        (
            row.form_name,
            row.group,
            row.total,
            row.counts["verified"],
            row.counts["partly"],
            row.counts["changed"],
            row.counts["not_verified"],
        )
        for row in progress.rows
    ]
    totals = progress.totals
    return rows, (totals.total, *(totals.counts[key] for key in STATUSES))


def pending(response):
    return [
        (item.record_id, item.form_name, item.instance, item.status)
        for item in response.context["progress"].pending
    ]


def test_the_page_counts_every_form_of_every_site_for_a_monitor_of_all_sites(
    client, monitored, verifier
):
    client.force_login(verifier)

    response = progress_page(client, monitored)

    assert response.status_code == 200
    assert table(response) == (
        [
            ("enrolment", HOKUREI, 4, 1, 0, 0, 3),
            ("enrolment", TOTO, 4, 1, 1, 1, 1),
            ("enrolment", SETOUCHI, 4, 0, 0, 0, 4),
            ("baseline", HOKUREI, 4, 0, 0, 1, 3),
            ("baseline", TOTO, 4, 0, 0, 0, 4),
            ("baseline", SETOUCHI, 4, 0, 0, 0, 4),
            ("visit", HOKUREI, 3, 0, 0, 0, 3),
            ("visit", TOTO, 3, 0, 0, 0, 3),
            ("visit", SETOUCHI, 3, 0, 0, 0, 3),
            ("adverse_event", HOKUREI, 3, 0, 0, 0, 3),
            ("adverse_event", TOTO, 1, 0, 0, 0, 1),
            ("adverse_event", SETOUCHI, 2, 0, 0, 0, 2),
        ],
        (39, 2, 1, 2, 34),
    )
    assert response.context["progress"].pending_count == 37
    assert pending(response)[:3] == [
        ("1-3", "enrolment", 1, "changed"),
        ("2-2", "baseline", 1, "changed"),
        ("1-1", "baseline", 1, "not_verified"),
    ]
    text = response.content.decode()
    assert (
        '<td class="text-end" data-count="changed"><a href="?form=enrolment&amp;status=changed'
        in text
    )
    assert "37 form instances need (re-)verification." in text


def test_a_monitor_of_one_site_counts_only_that_sites_records(client, monitored, site_b_bea):
    client.force_login(site_b_bea)

    response = progress_page(client, monitored)

    assert table(response) == (
        [
            ("enrolment", HOKUREI, 4, 1, 0, 0, 3),
            ("baseline", HOKUREI, 4, 0, 0, 1, 3),
            ("visit", HOKUREI, 3, 0, 0, 0, 3),
            ("adverse_event", HOKUREI, 3, 0, 0, 0, 3),
        ],
        (14, 1, 0, 1, 12),
    )
    assert response.context["progress"].pending_count == 13
    assert {item[0][0] for item in pending(response)} == {"2"}
    text = response.content.decode()
    assert "1-1" not in text
    assert TOTO not in text


def test_the_list_filters_by_status_and_form(client, monitored, verifier):
    client.force_login(verifier)

    changed = progress_page(client, monitored, status="changed")
    enrolment = progress_page(client, monitored, form="enrolment")
    partly = progress_page(client, monitored, form="enrolment", status="partly")

    assert pending(changed) == [
        ("1-3", "enrolment", 1, "changed"),
        ("2-2", "baseline", 1, "changed"),
    ]
    assert enrolment.context["progress"].pending_count == 10
    assert pending(partly) == [("1-2", "enrolment", 1, "partly")]


def test_a_forged_filter_lists_what_no_filter_lists_or_nothing(client, monitored, verifier):
    client.force_login(verifier)

    forged_status = progress_page(client, monitored, status="verified' OR 1=1 --")
    forged_form = progress_page(client, monitored, form="<script>")

    assert forged_status.context["progress"].pending_count == 37
    assert forged_form.context["progress"].pending_count == 0
    assert "<script>" not in forged_form.content.decode()


def test_the_page_needs_the_verification_right(client, demo, site_a_sam):
    client.force_login(site_a_sam)

    response = progress_page(client, demo)

    assert response.status_code == 403
    assert "You do not have the source data verification right." in response.content.decode()


def test_a_member_of_no_project_gets_no_such_project(client, demo, django_user_model):
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    client.force_login(stranger)

    assert progress_page(client, demo).status_code == 404
