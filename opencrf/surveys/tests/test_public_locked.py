"""A survey answer into a locked record is refused, and nothing is stored."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.records.locking import record_lock
from opencrf.records.models import FormData
from opencrf.records.services import record_create
from opencrf.surveys import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_link(qol_survey, demo, paula_context):
    qol_survey.language = "en"  # the page's texts are read below
    qol_survey.save()
    record = record_create(context=paula_context, project=demo, record_id="900")
    baseline = demo.events.get(unique_name="baseline_arm_1")
    link = services.response_link(survey=qol_survey, record=record, event=baseline)
    record_lock(context=paula_context, record=record, reason="Closed out")
    return link, record


def test_an_answer_to_a_locked_record_is_refused_and_nothing_is_stored(client, demo, locked_link):
    link, record = locked_link
    audit_before = AuditEvent.objects.filter(project_id=demo.pk).count()

    answer = client.post(
        f"/surveys/s/{link.token}/",
        {"qol_energy": "4", "qol_mood": "5", "page": "1", "action": "submit"},
    )

    assert answer.status_code == 403
    html = answer.content.decode()
    assert "This survey is closed" in html
    assert "These answers can no longer be changed. Please contact the study team." in html
    assert not FormData.objects.filter(record=record).exists()
    assert AuditEvent.objects.filter(project_id=demo.pk).count() == audit_before


def test_the_refusal_names_neither_the_record_nor_the_lock(client, demo, locked_link):
    link, _record = locked_link

    answer = client.post(
        f"/surveys/s/{link.token}/",
        {"qol_energy": "4", "qol_mood": "5", "page": "1", "action": "submit"},
    )

    html = answer.content.decode()
    assert "900" not in html
    assert "locked" not in html.lower()


def test_the_refusal_is_in_the_participant_s_language(client, demo, locked_link):
    link, _record = locked_link
    link.language = "ja"
    link.save(update_fields=["language"])

    answer = client.post(
        f"/surveys/s/{link.token}/",
        {"qol_energy": "4", "qol_mood": "5", "page": "1", "action": "submit"},
    )

    assert answer.status_code == 403
    assert "900" not in answer.content.decode()
    assert 'lang="ja"' in answer.content.decode()
