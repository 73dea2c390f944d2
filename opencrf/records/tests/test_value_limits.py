"""What no stored value may be: longer than OPENCRF_VALUE_MAX_CHARS, or holding a NUL.

Both the single save and the import refuse such a value, naming record, field and limit, and
write nothing; so does an import that keeps values as stored (Project XML). A NUL used to be
stored on SQLite and to fail with a server error on PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.records.errors import InvalidValues, ValueProblem
from opencrf.records.imports import ImportOptions, ImportProblem, ImportRefused, records_import
from opencrf.records.services import form_save

from .conftest import snapshot

pytestmark = pytest.mark.django_db

DEFAULT_LIMIT = 65_535


@pytest.fixture
def save_notes(paula_context, osaka_record, events):
    def save(text):
        return form_save(
            context=paula_context,
            record=osaka_record,
            event=events["baseline_arm_1"],
            form_name="baseline",
            values={"baseline_notes": text},
            base_version=None,
        )

    return save


def _import(context, project, text, *, keep=False):
    row = {"study_id": "1-1", "redcap_event_name": "baseline_arm_1", "baseline_notes": text}
    options = ImportOptions(keep_stored_values=keep)
    return records_import(context=context, project=project, rows=[row], options=options)


def test_a_note_of_the_default_maximum_length_is_saved_and_one_more_character_is_refused(
    salt_rct, save_notes
):
    save_notes("x" * DEFAULT_LIMIT)
    before = snapshot(salt_rct)

    with pytest.raises(InvalidValues) as refused:
        save_notes("y" * (DEFAULT_LIMIT + 1))

    assert refused.value.problems == [
        ValueProblem(
            "baseline_notes",
            "y" * 50 + "…",
            "value_too_long",
            "baseline_notes has 65536 characters; a value may have at most 65535.",
        )
    ]
    assert snapshot(salt_rct) == before


def test_the_maximum_is_a_setting(salt_rct, save_notes, settings):
    settings.OPENCRF_VALUE_MAX_CHARS = 10
    before = snapshot(salt_rct)

    with pytest.raises(InvalidValues) as refused:
        save_notes("eleven char")

    assert [p.message for p in refused.value.problems] == [
        "baseline_notes has 11 characters; a value may have at most 10."
    ]
    assert snapshot(salt_rct) == before


def test_a_nul_character_is_refused_by_the_single_save(salt_rct, save_notes):
    before = snapshot(salt_rct)

    with pytest.raises(InvalidValues) as refused:
        save_notes("before\x00after")

    assert refused.value.problems == [
        ValueProblem(
            "baseline_notes",
            "before\\0after",
            "nul",
            "baseline_notes contains a NUL character, which no value may contain.",
        )
    ]
    assert snapshot(salt_rct) == before


@pytest.mark.parametrize("keep", [False, True], ids=["import", "project-xml-import"])
def test_an_import_refuses_an_oversized_value_naming_record_field_and_limit(
    salt_rct, osaka_record, paula_context, settings, keep
):
    settings.OPENCRF_VALUE_MAX_CHARS = 10
    before = snapshot(salt_rct)

    with pytest.raises(ImportRefused) as refused:
        _import(paula_context, salt_rct, "z" * 60, keep=keep)

    assert refused.value.problems == [
        ImportProblem(
            "1-1",
            "baseline_notes",
            "z" * 50 + "…",
            "baseline_notes has 60 characters; a value may have at most 10.",
        )
    ]
    assert snapshot(salt_rct) == before


@pytest.mark.parametrize("keep", [False, True], ids=["import", "project-xml-import"])
def test_an_import_refuses_a_nul_character(salt_rct, osaka_record, paula_context, keep):
    before = snapshot(salt_rct)

    with pytest.raises(ImportRefused) as refused:
        _import(paula_context, salt_rct, "a\x00b", keep=keep)

    assert refused.value.problems == [
        ImportProblem(
            "1-1",
            "baseline_notes",
            "a\\0b",
            "baseline_notes contains a NUL character, which no value may contain.",
        )
    ]
    assert snapshot(salt_rct) == before


def test_an_import_refuses_a_nul_in_a_record_id_before_looking_it_up(salt_rct, paula_context):
    before = snapshot(salt_rct)
    row = {"study_id": "9\x00", "redcap_event_name": "baseline_arm_1", "baseline_notes": "x"}

    with pytest.raises(ImportRefused) as refused:
        records_import(context=paula_context, project=salt_rct, rows=[row])

    assert refused.value.problems == [
        ImportProblem(
            "9\\0",
            "study_id",
            "9\\0",
            "study_id contains a NUL character, which no value may contain.",
        )
    ]
    assert snapshot(salt_rct) == before


def test_the_form_shows_a_refused_long_value_again_only_up_to_the_limit(
    client, pi_paula, salt_rct, osaka_record, settings
):
    settings.OPENCRF_VALUE_MAX_CHARS = 100
    url = reverse(
        "records:form", args=[salt_rct.pk, osaka_record.record_id, "baseline_arm_1", "baseline", 1]
    )
    client.force_login(pi_paula)
    page = client.get(url)
    before = snapshot(salt_rct)

    response = client.post(
        url,
        {
            "base_version": page.context["base_version"],
            "base_values": page.context["base_values"],
            "baseline_notes": "y" * 100 + "z" * 5000,
            "reason": "",
            "action": "stay",
        },
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "baseline_notes has 5100 characters; a value may have at most 100." in html
    assert "y" * 100 in html
    assert "z" not in html.split("y" * 100, 1)[1][:10]
    assert len(response.content) < len(page.content) + 5000
    assert snapshot(salt_rct) == before
