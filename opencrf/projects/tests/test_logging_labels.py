"""Every action the code base audits has a translated label on the Logging page, and the
fixed details texts code writes are shown translated while the trail keeps them as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.projects.logging_views import ACTION_LABELS, action_label, details_text

SOURCE = Path(__file__).resolve().parents[2]
NAMESPACES = (
    "project|arm|event|mapping|repeat|group|member|role|record|dictionary|instrument|form"
    "|survey|api|file|repository|report|export|data|training|draft|language|translation"
    "|dq_rule|dq_result|dq_check"
    "|query|comment"
    "|verification"
    "|schedule|calendar"
    "|alert"
    "|randomization"
)
# An audit action as a string literal: `action="survey.enable"` or `"survey.enable"` passed
# to a helper that audits. File names that look alike are not actions.
LITERAL = re.compile(rf'"((?:{NAMESPACES})\.[a-z_]+(?:\.[a-z_]+)?)"')
NOT_ACTIONS = {"data.csv", "data.xpt", "dictionary.csv", "project.json", "instrument.csv"}


def _written_action_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        codes.update(LITERAL.findall(path.read_text(encoding="utf-8")))
    return codes - NOT_ACTIONS


def test_every_action_code_the_code_base_writes_has_a_label():
    codes = _written_action_codes()

    assert {"survey.enable", "survey.consent", "api.token_create", "file.store"} <= codes
    assert sorted(code for code in codes if code not in ACTION_LABELS) == []


def test_every_survey_api_and_file_action_reads_as_words_not_as_a_code():
    codes = _written_action_codes()

    for code in codes:
        assert action_label(code) != code
        assert "." not in action_label(code).replace("(API)", "")


def _log(project, action, details):
    with transaction.atomic():
        audit_event_create(
            context=AuditContext.system(), project_id=project.pk, action=action, details=details
        )


@pytest.mark.django_db
def test_the_japanese_page_shows_japanese_labels_and_details_and_keeps_the_trail_in_english(
    client, pi_paula, classic_project
):
    client.force_login(pi_paula)
    _log(classic_project, "survey.consent", "E-consent signed (version 2)")
    _log(classic_project, "api.token_create", "API token of pi_paula")
    _log(classic_project, "repository.folder", "Create folder: <b>x</b>")
    url = reverse("projects:logging", args=[classic_project.pk])

    ja = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en")

    rows = [(row.action, row.details) for row in ja.context["rows"]][:3]
    assert rows[1:] == [
        ("APIトークンを作成", "pi_paula の APIトークン"),
        ("電子同意に署名", "電子同意に署名（版 2）"),
    ]
    assert rows[0][1] == "フォルダを作成：<b>x</b>"
    assert "フォルダを作成：&lt;b&gt;x&lt;/b&gt;" in ja.content.decode()
    assert "survey.consent" not in ja.content.decode().split("<tbody")[-1]
    assert [(row.action, row.details) for row in en.context["rows"]][2] == (
        "Sign e-consent",
        "E-consent signed (version 2)",
    )
    kept = AuditEvent.objects.exclude(action="project.create").values_list("details", flat=True)
    assert sorted(kept) == [
        "API token of pi_paula",
        "Create folder: <b>x</b>",
        "E-consent signed (version 2)",
    ]


def test_details_written_by_people_or_unknown_are_shown_as_they_are():
    assert details_text("Signed by hand %(version)s") == "Signed by hand %(version)s"
    assert details_text("E-consent signed (version %(x)s)") == "E-consent signed (version %(x)s)"
    assert details_text("") == ""
