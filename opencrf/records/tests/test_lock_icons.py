"""Lock icons on the record home page and the record status dashboard: who locked and when,
read in bulk (the number of queries does not grow with the records or forms shown)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opencrf.records.locking import form_lock, record_lock
from opencrf.records.models import FormData, Record
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ICON = re.compile(r'title="([^"]*)" data-testid="lock-icon"')
RECORD_ICON = re.compile(r'title="([^"]*)" data-testid="record-lock-icon"')


def save(context, record, event, form_name, instance=1, **values):
    form_save(
        context=context,
        record=record,
        event=event,
        form_name=form_name,
        instance=instance,
        values=values,
        base_version=None,
    )


def when(moment):
    return date_filter(timezone.localtime(moment), "Y-m-d H:i T")


@pytest.fixture
def entered(paula_context, osaka_record, events):
    """Record 1-1 with screening and baseline, and two adverse events at week 4."""
    save(paula_context, osaka_record, events["screening_arm_1"], "screening", initials="AN")
    save(paula_context, osaka_record, events["baseline_arm_1"], "baseline", height="160.0")
    for instance in (1, 2):
        week_4 = events["week_4_arm_1"]
        save(paula_context, osaka_record, week_4, "adverse_event", instance, ae_term="Cough")
    return osaka_record


def lock(context, record, event, form_name, instance=1):
    form_lock(context=context, record=record, event=event, form_name=form_name, instance=instance)
    return FormData.objects.get(record=record, event=event, form_name=form_name, instance=instance)


def home(client, project, record_id="1-1"):
    return client.get(reverse("records:home", args=[project.pk, record_id])).content.decode()


def dashboard(client, project):
    return client.get(reverse("records:dashboard", args=[project.pk])).content.decode()


def test_the_record_home_page_shows_a_lock_on_each_locked_form_with_who_and_when(
    client, pi_paula, paula_context, salt_rct, entered, events
):
    screening = lock(paula_context, entered, events["screening_arm_1"], "screening")
    second_ae = lock(paula_context, entered, events["week_4_arm_1"], "adverse_event", 2)
    client.force_login(pi_paula)

    html = home(client, salt_rct)

    assert ICON.findall(html) == [
        f"Locked by pi_paula at {when(screening.locked_at)}",
        f"Locked by pi_paula at {when(second_ae.locked_at)}",
    ]
    assert 'data-testid="record-locked"' not in html


def test_the_record_home_page_shows_a_whole_record_lock(
    client, pi_paula, paula_context, salt_rct, entered
):
    record_lock(context=paula_context, record=entered, reason="Database lock")
    entered.refresh_from_db()
    client.force_login(pi_paula)

    html = home(client, salt_rct)

    assert RECORD_ICON.findall(html) == [
        f"The whole record is locked by pi_paula at {when(entered.locked_at)}."
    ]
    assert ICON.findall(html) == []


def test_the_dashboard_shows_locked_forms_and_locked_records_on_their_rows(
    client, pi_paula, paula_context, salt_rct, entered, events
):
    other = record_create(context=paula_context, project=salt_rct, record_id="1-2")
    save(paula_context, other, events["screening_arm_1"], "screening", initials="BO")
    screening = lock(paula_context, entered, events["screening_arm_1"], "screening")
    lock(paula_context, entered, events["week_4_arm_1"], "adverse_event", 1)
    record_lock(context=paula_context, record=other)
    other.refresh_from_db()
    client.force_login(pi_paula)

    html = dashboard(client, salt_rct)

    first = html[html.index('data-record="1-1"') : html.index('data-record="1-2"')]
    second = html[html.index('data-record="1-2"') :]
    assert ICON.findall(first) == [
        f"Locked by pi_paula at {when(screening.locked_at)}",
        "Locked instances: 1 of 2",
    ]
    assert RECORD_ICON.findall(first) == []
    assert ICON.findall(second) == []
    assert RECORD_ICON.findall(second) == [
        f"The whole record is locked by pi_paula at {when(other.locked_at)}."
    ]


def test_the_dashboard_reads_locks_in_a_fixed_number_of_queries(
    client, pi_paula, paula_context, salt_rct, entered, events
):
    lock(paula_context, entered, events["screening_arm_1"], "screening")
    record_lock(context=paula_context, record=entered)
    client.force_login(pi_paula)
    dashboard(client, salt_rct)  # sessions and caches warmed
    with CaptureQueriesContext(connection) as one:
        dashboard(client, salt_rct)
    for number in range(2, 7):
        record = record_create(context=paula_context, project=salt_rct, record_id=f"1-{number}")
        save(paula_context, record, events["screening_arm_1"], "screening", initials="XX")
        save(paula_context, record, events["baseline_arm_1"], "baseline", height="170.0")
        lock(paula_context, record, events["screening_arm_1"], "screening")
        lock(paula_context, record, events["baseline_arm_1"], "baseline")
        record_lock(context=paula_context, record=record)

    with CaptureQueriesContext(connection) as six:
        html = dashboard(client, salt_rct)

    assert len(ICON.findall(html)) == 11
    assert len(RECORD_ICON.findall(html)) == 6
    assert len(six.captured_queries) == len(one.captured_queries)


def test_the_record_home_page_reads_locks_in_a_fixed_number_of_queries(
    client, pi_paula, paula_context, salt_rct, entered, events
):
    client.force_login(pi_paula)
    home(client, salt_rct)
    with CaptureQueriesContext(connection) as none_locked:
        home(client, salt_rct)
    lock(paula_context, entered, events["screening_arm_1"], "screening")
    lock(paula_context, entered, events["baseline_arm_1"], "baseline")
    for instance in (1, 2):
        lock(paula_context, entered, events["week_4_arm_1"], "adverse_event", instance)
    record_lock(context=paula_context, record=entered)

    with CaptureQueriesContext(connection) as all_locked:
        html = home(client, salt_rct)

    assert len(ICON.findall(html)) == 4
    # One more query, for the whole-record lock's user; none per form.
    assert len(all_locked.captured_queries) == len(none_locked.captured_queries) + 1


def test_another_site_s_locked_record_shows_nowhere_to_a_grouped_member(
    client, kyoto_bea, paula_context, salt_rct, entered, events
):
    lock(paula_context, entered, events["screening_arm_1"], "screening")
    record_lock(context=paula_context, record=entered)
    client.force_login(kyoto_bea)

    html = dashboard(client, salt_rct)
    response = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"]))

    assert 'data-record="1-1"' not in html
    assert "lock-icon" not in html
    assert response.status_code == 404
    assert Record.objects.get(pk=entered.pk).locked_at is not None
