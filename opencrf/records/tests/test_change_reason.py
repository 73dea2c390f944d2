"""A reason for changing existing data, required in production when the project says so."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectStatus
from opencrf.records.errors import InvalidValues, ValueProblem
from opencrf.records.models import FormData
from opencrf.records.services import form_save

from .conftest import snapshot

pytestmark = pytest.mark.django_db

REASON_MESSAGE = "Give a reason for changing existing data; nothing was saved."


@pytest.fixture
def save(paula_context, osaka_record, events):
    def save(values, **kwargs):
        kwargs.setdefault("base_version", None)
        return form_save(
            context=paula_context,
            record=osaka_record,
            event=events["screening_arm_1"],
            form_name="screening",
            values=values,
            **kwargs,
        )

    return save


@pytest.fixture
def in_production(salt_rct):
    salt_rct.status = ProjectStatus.PRODUCTION
    salt_rct.save()
    return salt_rct


def form_url(project):
    return reverse("records:form", args=[project.pk, "1-1", "screening_arm_1", "screening", 1])


def test_changing_existing_data_in_production_without_a_reason_is_refused(save, in_production):
    save({"initials": "AN"})
    before = snapshot(in_production)

    with pytest.raises(InvalidValues) as refused:
        save({"initials": "AM"}, reason="  ")

    assert refused.value.problems == [ValueProblem("", "", "reason_required", REASON_MESSAGE)]
    assert snapshot(in_production) == before


def test_changing_existing_data_in_production_with_a_reason_is_saved(save, in_production):
    save({"initials": "AN"})

    save({"initials": "AM"}, reason="Typo in source document")

    event = AuditEvent.objects.filter(action="form.update").last()
    assert (event.changes, event.reason) == ({"initials": ["AN", "AM"]}, "Typo in source document")


def test_a_new_form_in_production_needs_no_reason(save, in_production):
    result = save({"initials": "AN"})

    assert result.created


def test_an_unchanged_save_in_production_needs_no_reason(save, in_production):
    save({"initials": "AN"})

    result = save({"initials": "AN"})

    assert result.changes == {}


def test_development_needs_no_reason(save, salt_rct):
    save({"initials": "AN"})

    result = save({"initials": "AM"})

    assert result.changes == {"initials": ["AN", "AM"]}


def test_production_needs_no_reason_when_the_setting_is_off(save, in_production):
    in_production.require_change_reason = False
    in_production.save()
    save({"initials": "AN"})

    result = save({"initials": "AM"})

    assert result.changes == {"initials": ["AN", "AM"]}


def test_the_page_marks_the_reason_required_and_shows_the_refusal(
    client, pi_paula, save, in_production
):
    save({"initials": "AN"})
    client.force_login(pi_paula)
    page = client.get(form_url(in_production))
    assert 'name="reason" rows="2" required' in page.content.decode()

    response = client.post(
        form_url(in_production),
        {
            "base_version": page.context["base_version"],
            "base_values": page.context["base_values"],
            "initials": "AM",
            "reason": "",
            "action": "stay",
        },
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert (
        'href="#crf-reason" data-focus="crf-reason">Reason for change</a>: ' + REASON_MESSAGE
        in html
    )
    assert 'id="error-reason"' in html
    assert FormData.objects.get().values["initials"] == "AN"


def test_a_new_form_page_does_not_require_a_reason(client, pi_paula, osaka_record, in_production):
    client.force_login(pi_paula)

    page = client.get(form_url(in_production))

    assert "required" not in page.content.decode().split('name="reason"', 1)[1].split(">")[0]


def test_the_settings_page_turns_the_requirement_off(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    url = reverse("projects:settings", args=[salt_rct.pk])
    assert 'name="require_change_reason"' in client.get(url).content.decode()

    client.post(
        url,
        {"title": salt_rct.title, "purpose": str(salt_rct.purpose), "is_longitudinal": "on"},
    )

    salt_rct.refresh_from_db()
    assert salt_rct.require_change_reason is False
