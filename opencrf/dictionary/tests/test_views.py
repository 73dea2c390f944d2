from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import REDCAP_PROJECTS, SALT_RCT
from opencrf.dictionary.columns import UI_HEADERS
from opencrf.dictionary.models import DictionaryRevision, Field
from opencrf.dictionary.services import dictionary_apply

pytestmark = pytest.mark.django_db

HEADER = ",".join(f'"{h}"' if "," in h else h for h in UI_HEADERS)
FIXTURE_NAMES = sorted(p.parent.name for p in REDCAP_PROJECTS.glob("*/dictionary.csv"))


def _upload(client, project, data: bytes, name="dictionary.csv"):
    url = reverse("dictionary:dictionary", args=[project.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def _confirm(client, project, token):
    return client.post(reverse("dictionary:apply", args=[project.pk]), {"token": token})


def _csv_cells(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return [row + [""] * (18 - len(row)) for row in rows if any(cell.strip() for cell in row)]


def test_an_upload_is_previewed_then_applied_on_confirmation(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    data = (REDCAP_PROJECTS / "simple" / "dictionary.csv").read_bytes()

    preview = _upload(client, classic_project, data)
    assert preview.status_code == 200
    assert Field.objects.count() == 0
    assert preview.context["diff"].added_fields[:2] == ("record_id", "name_first")

    applied = _confirm(client, classic_project, preview.context["token"])
    assert applied.status_code == 302
    assert Field.objects.filter(project=classic_project).count() == len(_csv_cells(data)) - 1
    assert _confirm(client, classic_project, preview.context["token"]).status_code == 302
    assert DictionaryRevision.objects.count() == 1


def test_a_cancelled_upload_changes_nothing(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    preview = _upload(
        client, classic_project, (REDCAP_PROJECTS / "simple" / "dictionary.csv").read_bytes()
    )
    url = reverse("dictionary:apply", args=[classic_project.pk])
    client.post(url, {"token": preview.context["token"], "cancel": "1"})

    assert _confirm(client, classic_project, preview.context["token"]).status_code == 302
    assert not Field.objects.exists()


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_dictionary_uploads_and_downloads_with_the_same_cells(
    client, pi_paula, classic_project, name, settings
):
    # validation-types-1 holds an `sql` field, which an administrator must allow.
    settings.OPENCRF_ALLOW_SQL_FIELDS = name == "validation-types-1"
    client.force_login(pi_paula)
    data = (REDCAP_PROJECTS / name / "dictionary.csv").read_bytes()
    preview = _upload(client, classic_project, data)
    assert preview.status_code == 200, [p.message for p in preview.context["problems"]]
    _confirm(client, classic_project, preview.context["token"])

    download = client.get(reverse("dictionary:download", args=[classic_project.pk]))
    body = b"".join(download.streaming_content)
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert body.startswith("\ufeff".encode())
    assert _csv_cells(body) == _csv_cells(data)


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"field_name,form_name\nrecord_id,f\n", "header_mismatch"),
        ((",".join(["x"] * 10_000) + "\n").encode(), "too_many_cells"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary_file"),
        ((HEADER + "\n../etc,f,,text,x,,,,,,,,,,,,,\n").encode(), "field_name_invalid"),
    ],
)
def test_hostile_uploads_get_clear_errors_and_change_nothing(
    client, pi_paula, classic_project, data, rule
):
    client.force_login(pi_paula)
    response = _upload(client, classic_project, data)

    assert response.status_code == 400
    assert rule in [p.rule for p in response.context["problems"]]
    assert not Field.objects.exists()
    assert not DictionaryRevision.objects.exists()


def test_problem_rows_count_blank_lines_as_a_spreadsheet_does(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    data = (HEADER + "\nrecord_id,f,,text,ID,,,,,,,,,,,,,\n\nBad,f,,text,x,,,,,,,,,,,,,\n").encode()
    response = _upload(client, classic_project, data)

    assert [(p.row, p.rule, p.value) for p in response.context["problems"]] == [
        (4, "field_name_invalid", "Bad")
    ]


def test_a_file_over_the_size_limit_is_refused_unread(client, pi_paula, classic_project, settings):
    settings.OPENCRF_DICTIONARY_MAX_BYTES = 1024 * 1024
    client.force_login(pi_paula)
    response = _upload(client, classic_project, (HEADER + "\n").encode() + b"x" * (2 * 1024 * 1024))

    assert response.status_code == 400
    assert [p.rule for p in response.context["problems"]] == ["file_too_large"]
    assert not Field.objects.exists()


def test_a_50_megabyte_upload_is_refused_at_the_default_limit(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    response = _upload(
        client, classic_project, (HEADER + "\n").encode() + b"a," * (25 * 1024 * 1024)
    )

    assert response.status_code == 400
    assert [p.rule for p in response.context["problems"]] == ["file_too_large"]
    assert "10 MB" in response.context["problems"][0].message
    assert not Field.objects.exists()


def test_script_in_labels_and_choices_is_shown_as_text(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    row = (
        "pick,f,<script>alert(1)</script>,radio,<script>alert(2)</script>,"
        "\"1, <img src=x onerror=alert(3)> | 2, =cmd|' /C calc'!A0\",,,,,,,,,,,,"
    )
    data = (HEADER + "\nrecord_id,f,,text,ID,,,,,,,,,,,,,\n" + row + "\n").encode()
    preview = _upload(client, classic_project, data)
    _confirm(client, classic_project, preview.context["token"])

    page = client.get(reverse("dictionary:instrument", args=[classic_project.pk, "f"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_another_users_project_looks_missing(client, site_b_bea, classic_project):
    client.force_login(site_b_bea)
    for name in ("dictionary", "download", "instruments", "revisions", "designate", "repeating"):
        response = client.get(reverse(f"dictionary:{name}", args=[classic_project.pk]))
        assert response.status_code == 404, name


def test_an_administrator_sees_every_project(client, admin_ada, classic_project):
    client.force_login(admin_ada)
    assert (
        client.get(reverse("dictionary:dictionary", args=[classic_project.pk])).status_code == 200
    )


def test_revisions_can_be_compared_and_downloaded(client, pi_paula, paula_context, classic_project):
    from conftest import dictionary_rows

    rows = dictionary_rows("simple")
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    changed = [rows[0], rows[1].replace(field_label="First name (changed)"), *rows[3:]]
    dictionary_apply(context=paula_context, project=classic_project, rows=changed, source="upload")
    client.force_login(pi_paula)

    compare = client.get(
        reverse("dictionary:revision_compare", args=[classic_project.pk]), {"a": 1, "b": 2}
    )
    diff = compare.context["diff"]
    assert diff.removed_fields == (rows[2].field_name,)
    assert diff.changed_fields == {
        "name_first": {"field_label": ("First Name", "First name (changed)")}
    }
    old = client.get(reverse("dictionary:revision_download", args=[classic_project.pk, 1]))
    assert b"".join(old.streaming_content).count(b"\n") == len(rows) + 1


def test_designations_and_repeats_are_saved_from_the_grid(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    screening = salt_rct.events.get(unique_name="screening_arm_1")
    week4 = salt_rct.events.get(unique_name="week_4_arm_1")
    url = reverse("dictionary:designate", args=[salt_rct.pk])
    client.post(
        url,
        {
            "designate": [
                f"{screening.pk}:screening",
                f"{week4.pk}:adverse_event",
                "junk",
                "9999:screening",
            ]
        },
    )
    # An unknown event id refuses the whole change.
    assert screening.instruments.count() == 1
    client.post(url, {"designate": [f"{screening.pk}:screening", f"{week4.pk}:adverse_event"]})
    assert list(week4.instruments.values_list("form_name", flat=True)) == ["adverse_event"]

    url = reverse("dictionary:repeating", args=[salt_rct.pk])
    client.post(
        url,
        {"repeat": [f"{week4.pk}:adverse_event"], f"label:{week4.pk}:adverse_event": "[ae_term]"},
    )
    assert list(week4.repeats.values_list("form_name", "custom_label")) == [
        ("adverse_event", "[ae_term]")
    ]


def test_the_salt_rct_study_loads_and_previews_with_japanese_intact(client, pi_paula, salt_rct):
    mapping = {
        (e.unique_name, f)
        for e in salt_rct.events.all()
        for f in e.instruments.values_list("form_name", flat=True)
    }
    expected = {
        (r["unique_event_name"], r["form"])
        for r in csv.DictReader(
            io.StringIO((SALT_RCT / "instrument_event_mapping.csv").read_text())
        )
    }
    assert mapping == expected
    assert sorted(salt_rct.groups.values_list("unique_name", flat=True)) == [
        "kobe_port",
        "kyoto_north",
        "osaka_central",
    ]
    repeats = set(
        salt_rct.events.filter(repeats__isnull=False).values_list(
            "unique_name", "repeats__form_name"
        )
    )
    assert repeats == {
        ("week_4_arm_1", "adverse_event"),
        ("week_12_arm_1", "adverse_event"),
        ("week_24_arm_1", "adverse_event"),
    }

    client.force_login(pi_paula)
    for instrument in salt_rct.instruments.all():
        page = client.get(reverse("dictionary:instrument", args=[salt_rct.pk, instrument.name]))
        assert page.status_code == 200
    screening = client.get(reverse("dictionary:instrument", args=[salt_rct.pk, "screening"]))
    assert "研究対象者ID / Study ID" in screening.content.decode()


def test_a_staged_upload_belongs_to_the_user_who_made_it(
    client, pi_paula, admin_ada, classic_project
):
    client.force_login(pi_paula)
    preview = _upload(
        client, classic_project, (REDCAP_PROJECTS / "simple" / "dictionary.csv").read_bytes()
    )
    client.force_login(admin_ada)

    response = _confirm(client, classic_project, preview.context["token"])
    assert response.status_code == 302
    assert not Field.objects.exists()


def test_a_staged_upload_expires(client, pi_paula, classic_project, monkeypatch):
    from datetime import timedelta

    from opencrf.dictionary import staging

    client.force_login(pi_paula)
    preview = _upload(
        client, classic_project, (REDCAP_PROJECTS / "simple" / "dictionary.csv").read_bytes()
    )
    monkeypatch.setattr(staging, "STAGING_LIFETIME", timedelta(seconds=-1))

    _confirm(client, classic_project, preview.context["token"])
    assert not Field.objects.exists()


def test_a_preview_of_an_older_dictionary_is_not_applied(
    client, pi_paula, paula_context, classic_project
):
    from conftest import dictionary_rows

    client.force_login(pi_paula)
    preview = _upload(
        client, classic_project, (REDCAP_PROJECTS / "simple" / "dictionary.csv").read_bytes()
    )
    dictionary_apply(
        context=paula_context,
        project=classic_project,
        rows=dictionary_rows("longitudinal"),
        source="api",
    )
    response = client.post(
        reverse("dictionary:apply", args=[classic_project.pk]),
        {"token": preview.context["token"], "base_revision": "0"},
        follow=True,
    )
    assert "changed since your preview" in response.content.decode()
    assert DictionaryRevision.objects.count() == 1


def test_long_question_numbers_and_matrix_names_are_stored(paula_context, classic_project):
    from opencrf.dictionary.columns import FieldRow

    rows = [
        FieldRow("record_id", "f"),
        FieldRow(
            "q",
            "f",
            field_type="radio",
            select_choices_or_calculations="1, A | 2, B",
            question_number="Q" * 300,
            matrix_group_name="m" * 150,
        ),
    ]
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    assert Field.objects.get(field_name="q").as_row() == rows[1]
