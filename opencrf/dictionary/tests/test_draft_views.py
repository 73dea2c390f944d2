"""Draft mode and status pages through the web: rights, uploads into the draft, decisions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.dictionary.csvio import iter_dictionary_csv
from opencrf.dictionary.drafts import active_draft
from opencrf.dictionary.models import DictionaryDraft
from opencrf.dictionary.selectors import project_rows
from opencrf.dictionary.services import dictionary_apply
from opencrf.dictionary.tests.test_draft_services import DATA, ROWS
from opencrf.projects.models import Project, ProjectStatus
from opencrf.records.imports import records_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    records_import(context=paula_context, project=classic_project, rows=DATA)
    Project.objects.filter(pk=classic_project.pk).update(status=ProjectStatus.PRODUCTION)
    classic_project.refresh_from_db()
    return classic_project


def _csv(rows) -> bytes:
    return "".join(iter_dictionary_csv(rows)).encode()


def _url(name, project, *args):
    return reverse(name, args=[project.pk, *args])


def test_a_designer_enters_draft_mode_uploads_and_reviews(client, pi_paula, live):
    client.force_login(pi_paula)
    assert client.post(_url("dictionary:draft_enter", live)).status_code == 302
    rows = [r for r in ROWS if r.field_name != "notes"]
    upload = SimpleUploadedFile("d.csv", _csv(rows), content_type="text/csv")
    response = client.post(_url("dictionary:draft_upload", live), {"file": upload, "base": "1"})
    assert response.status_code == 302
    assert active_draft(live).field_rows() == rows
    assert project_rows(live) == ROWS

    review = client.get(_url("dictionary:draft_review", live))
    assert review.status_code == 200
    assert [(c.kind, c.field_name, c.critical) for c in review.context["review"].changes] == [
        ("field_removed", "notes", True)
    ]
    assert b"Submit for approval" in review.content


def test_a_stale_upload_into_the_draft_is_refused(client, pi_paula, live):
    client.force_login(pi_paula)
    client.post(_url("dictionary:draft_enter", live))
    upload = SimpleUploadedFile("d.csv", _csv(ROWS[:-1]), content_type="text/csv")
    response = client.post(
        _url("dictionary:draft_upload", live), {"file": upload, "base": "7"}, follow=True
    )
    assert "someone else saved it" in response.content.decode()
    assert active_draft(live).version == 1


def test_a_member_without_the_design_right_gets_nothing(client, site_b_bea, live):
    client.force_login(site_b_bea)
    assert client.get(_url("dictionary:draft", live)).status_code == 404
    assert client.post(_url("dictionary:draft_enter", live)).status_code == 404
    assert client.get(_url("projects:status", live)).status_code == 404
    assert not DictionaryDraft.objects.exists()


def test_only_administrators_see_the_approval_queue(client, pi_paula, admin_ada, live):
    client.force_login(pi_paula)
    assert client.get(reverse("approvals:queue")).status_code == 404
    assert client.post(_url("dictionary:draft_approve", live)).status_code == 404
    client.force_login(admin_ada)
    assert client.get(reverse("approvals:queue")).status_code == 200


def test_the_status_page_offers_the_users_moves_and_moves_the_project(client, pi_paula, live):
    client.force_login(pi_paula)
    page = client.get(_url("projects:status", live))
    assert [m.to for m in page.context["moves"]] == ["analysis"]
    response = client.post(_url("projects:status_move", live), {"to": "analysis", "reason": "Lock"})
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.status == "analysis"


def test_a_move_without_a_reason_is_refused_on_the_page(client, pi_paula, live):
    client.force_login(pi_paula)
    response = client.post(
        _url("projects:status_move", live), {"to": "analysis", "reason": ""}, follow=True
    )
    assert "Give a reason" in response.content.decode()
    live.refresh_from_db()
    assert live.status == "production"
