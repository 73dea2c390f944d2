"""The Data Import Tool: upload, preview without writing, confirm, all rows or none.

The salt_rct study is longitudinal, repeats `adverse_event` at weeks 4–24 and has three sites.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.records.imports import ImportOptions, records_import
from opencrf.records.models import FormData, Record
from opencrf.records.tests.conftest import coordinator_rights, snapshot

pytestmark = pytest.mark.django_db

HEADER = "study_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance"
GOOD = (
    f"{HEADER},initials,sex,dob,consent_date\n"
    "101,screening_arm_1,,,AB,2,1970-04-01,2026-01-05\n"
    "102,screening_arm_1,,,CD,1,1980-12-31,2026-01-06\n"
)
ONE_BAD_CELL = f"{HEADER},initials,sex\n101,screening_arm_1,,,AB,2\n102,screening_arm_1,,,CD,7\n"


def upload_url(project):
    return reverse("import_tool:upload", args=[project.pk])


def upload(client, project, body, name="data.csv", **options):
    data = body.encode("utf-8") if isinstance(body, str) else body
    fields = {
        "layout": "flat",
        "date_format": "YMD",
        "overwrite": "normal",
        "delimiter": "comma",
        "encoding": "utf-8",
        **options,
        "file": io.BytesIO(data),
    }
    fields["file"].name = name
    return client.post(upload_url(project), fields)


def confirm(client, project, response):
    return client.post(
        reverse("import_tool:confirm", args=[project.pk]),
        {
            "token": response.context["staged"].token,
            "fingerprint": response.context["outcome"].fingerprint,
        },
    )


def screening(project, record_id):
    form = FormData.objects.get(
        project=project, record__record_id=record_id, event__unique_name="screening_arm_1"
    )
    return form.values


@pytest.fixture
def paula(client, pi_paula):
    client.force_login(pi_paula)
    return client


@pytest.fixture
def importer_bea(salt_rct, site_b_bea, groups):
    """Bea coordinates the Kyoto North site and holds the Data Import Tool right."""
    ProjectMember.objects.create(
        project=salt_rct,
        user=site_b_bea,
        group=groups["kyoto_north"],
        data_import=True,
        **coordinator_rights(salt_rct),
    )
    return site_b_bea


def test_the_preview_counts_and_lists_the_changes_and_writes_nothing(paula, salt_rct):
    before = snapshot(salt_rct)

    response = upload(paula, salt_rct, GOOD)

    outcome = response.context["outcome"]
    assert response.status_code == 200
    assert (outcome.new_records, outcome.updated_records, outcome.errors) == (
        ["101", "102"],
        [],
        [],
    )
    assert outcome.file_rows == 2
    changed = {(c.record, c.field): (c.old, c.new) for c in outcome.changes}
    assert changed[("101", "sex")] == ("", "2")
    assert changed[("102", "dob")] == ("", "1980-12-31")
    assert snapshot(salt_rct) == before
    assert not Record.objects.filter(project=salt_rct).exists()
    assert b'data-testid="import-confirm"' in response.content


def test_confirming_applies_the_exact_values_audited_as_an_import(paula, salt_rct):
    preview = upload(paula, salt_rct, GOOD)

    response = confirm(paula, salt_rct, preview)

    assert response.status_code == 200
    assert b'data-testid="import-done"' in response.content
    values = screening(salt_rct, "101")
    assert {k: values[k] for k in ("initials", "sex", "dob", "consent_date")} == {
        "initials": "AB",
        "sex": "2",
        "dob": "1970-04-01",
        "consent_date": "2026-01-05",
    }
    assert screening(salt_rct, "102")["sex"] == "1"
    sources = set(
        AuditEvent.objects.filter(project_id=salt_rct.pk, record__in=["101", "102"]).values_list(
            "source", flat=True
        )
    )
    assert sources == {"import"}
    reverse_home = reverse("records:home", args=[salt_rct.pk, "101"])
    assert f'href="{reverse_home}"'.encode() in response.content


def test_one_bad_cell_refuses_the_whole_file_naming_row_record_field_value_and_rule(
    paula, salt_rct
):
    before = snapshot(salt_rct)

    response = upload(paula, salt_rct, ONE_BAD_CELL)

    outcome = response.context["outcome"]
    assert response.status_code == 400
    assert [(e.row, e.record, e.field, e.value) for e in outcome.errors] == [(3, "102", "sex", "7")]
    assert "7" in outcome.errors[0].message
    assert b'data-testid="import-confirm"' not in response.content
    assert b'data-testid="import-refused"' in response.content
    assert snapshot(salt_rct) == before
    assert not Record.objects.filter(project=salt_rct).exists()


def test_a_refused_file_cannot_be_confirmed_by_replaying_its_token(paula, salt_rct):
    refused = upload(paula, salt_rct, ONE_BAD_CELL)
    before = snapshot(salt_rct)

    response = paula.post(
        reverse("import_tool:confirm", args=[salt_rct.pk]),
        {
            "token": refused.context["staged"].token,
            "fingerprint": refused.context["outcome"].fingerprint,
        },
    )

    assert response.status_code == 400
    assert b'data-testid="import-file-error"' in response.content
    assert snapshot(salt_rct) == before


def test_an_eav_file_imports_a_repeating_instrument_and_a_checkbox(paula, salt_rct):
    eav = (
        "record,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,field_name,value\n"
        "201,screening_arm_1,,,initials,EF\n"
        "201,screening_arm_1,,,incl,2\n"
        "201,week_4_arm_1,adverse_event,1,ae_term,頭痛\n"
        "201,week_4_arm_1,adverse_event,2,ae_term,めまい\n"
        "201,week_4_arm_1,adverse_event,2,ae_grade,9\n"
    )

    refused = upload(paula, salt_rct, eav, layout="eav")
    fixed = upload(paula, salt_rct, eav.replace("ae_grade,9", "ae_grade,2"), layout="eav")
    done = confirm(paula, salt_rct, fixed)

    assert [(e.row, e.record, e.field, e.value) for e in refused.context["outcome"].errors] == [
        (6, "201", "ae_grade", "9")
    ]
    assert done.status_code == 200
    forms = FormData.objects.filter(project=salt_rct, form_name="adverse_event")
    assert sorted((f.instance, f.values["ae_term"]) for f in forms) == [(1, "頭痛"), (2, "めまい")]
    assert forms.get(instance=2).values["ae_grade"] == "2"
    assert screening(salt_rct, "201")["incl___2"] == "1"


@pytest.mark.parametrize(
    ("date_format", "given", "stored"),
    [
        ("YMD", "2026-02-03", "2026-02-03"),
        ("MDY", "02/03/2026", "2026-02-03"),
        ("DMY", "03/02/2026", "2026-02-03"),
    ],
)
def test_dates_are_read_in_the_chosen_format(paula, salt_rct, date_format, given, stored):
    body = f"study_id,redcap_event_name,consent_date\n301,screening_arm_1,{given}\n"

    confirm(paula, salt_rct, upload(paula, salt_rct, body, date_format=date_format))

    assert screening(salt_rct, "301")["consent_date"] == stored


def test_blanks_are_ignored_unless_they_are_chosen_to_overwrite(paula, salt_rct, paula_context):
    rows = [
        {"study_id": "401", "redcap_event_name": "screening_arm_1", "initials": "GH", "sex": "1"}
    ]
    records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())
    body = "study_id,redcap_event_name,initials,sex\n401,screening_arm_1,,1\n"

    kept = upload(paula, salt_rct, body)
    erased = upload(paula, salt_rct, body, overwrite="overwrite")
    confirm(paula, salt_rct, erased)

    assert (kept.context["outcome"].unchanged_rows, kept.context["outcome"].change_count) == (1, 0)
    assert b'data-testid="import-nothing"' in kept.content
    assert [(c.field, c.old, c.new) for c in erased.context["outcome"].changes] == [
        ("initials", "GH", "")
    ]
    assert erased.context["outcome"].updated_records == ["401"]
    assert "initials" not in screening(salt_rct, "401")


def test_an_excel_workbook_is_read_from_its_first_sheet_with_dates_and_whole_numbers(
    paula, salt_rct
):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["study_id", "redcap_event_name", "consent_date", "sex", "initials", "pregnant"])
    sheet.append([501.0, "screening_arm_1", date(2026, 3, 4), 2, "=SUM(A1)", True])
    book.create_sheet("ignored").append(["nothing", "here"])
    out = io.BytesIO()
    book.save(out)

    preview = upload(paula, salt_rct, out.getvalue(), name="data.csv", date_format="DMY")
    confirm(paula, salt_rct, preview)

    values = screening(salt_rct, "501")
    assert (values["consent_date"], values["sex"], values["pregnant"]) == ("2026-03-04", "2", "1")
    # openpyxl saves a formula without its value; a file saved by Excel gives Excel's value.
    assert "initials" not in values


def test_formula_strings_are_kept_verbatim(paula, salt_rct):
    body = 'study_id,redcap_event_name,baseline_notes\n601,baseline_arm_1,"=HYPERLINK(""http://x"",""y"")"\n'

    confirm(paula, salt_rct, upload(paula, salt_rct, body))

    form = FormData.objects.get(project=salt_rct, record__record_id="601", form_name="baseline")
    assert form.values["baseline_notes"] == '=HYPERLINK("http://x","y")'


def test_a_png_renamed_csv_is_refused_by_its_content(paula, salt_rct):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    response = upload(paula, salt_rct, png, name="data.csv")

    message = response.context["outcome"].errors[0].message
    assert message == "The file is a PNG file, not CSV text or an Excel workbook (.xlsx)."
    assert response.status_code == 400


def test_a_nul_byte_is_refused_naming_its_line(paula, salt_rct):
    response = upload(paula, salt_rct, "study_id,initials\n1,AB\n2,C\x00D\n")

    assert [e.message for e in response.context["outcome"].errors] == [
        "Line 3 of the file contains a NUL character, which is not accepted."
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(paula, salt_rct, settings):
    settings.OPENCRF_IMPORT_MAX_BYTES = 100

    response = upload(paula, salt_rct, "study_id,initials\n" + "1,AB\n" * 50)

    assert response.status_code == 400
    assert "larger than the 100 bytes accepted" in response.context["file_error"]


def test_a_zip_bomb_posing_as_a_workbook_is_refused(paula, salt_rct, settings):
    settings.OPENCRF_IMPORT_MAX_BYTES = 100_000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)

    response = upload(paula, salt_rct, out.getvalue(), name="big.xlsx")

    assert response.context["outcome"].errors[0].message == (
        "The Excel workbook expands to 5,000,019 bytes, more than the 400,000 accepted."
    )


def test_a_zip_that_is_not_a_workbook_is_refused(paula, salt_rct):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")

    response = upload(paula, salt_rct, out.getvalue(), name="data.xlsx")

    assert response.context["outcome"].errors[0].message == (
        "The file is a zip archive but not an Excel workbook (.xlsx)."
    )


def test_shift_jis_is_refused_as_utf8_naming_the_line_and_read_when_chosen(paula, salt_rct):
    body = "study_id,redcap_event_name,baseline_notes\n701,baseline_arm_1,減塩\n".encode("cp932")

    wrong = upload(paula, salt_rct, body)
    right = upload(paula, salt_rct, body, encoding="shift_jis")
    confirm(paula, salt_rct, right)

    assert (
        wrong.context["outcome"]
        .errors[0]
        .message.startswith("Line 2 of the file is not valid UTF-8 text")
    )
    form = FormData.objects.get(project=salt_rct, record__record_id="701", form_name="baseline")
    assert form.values["baseline_notes"] == "減塩"


def test_unknown_columns_are_named_on_the_header_row(paula, salt_rct):
    response = upload(paula, salt_rct, "study_id,shoe_size\n1,44\n")

    assert [(e.row, e.field) for e in response.context["outcome"].errors] == [(1, "shoe_size")]


@pytest.mark.parametrize(("delimiter", "sign"), [("semicolon", ";"), ("tab", "\t")])
def test_semicolon_and_tab_delimited_files_are_read(paula, salt_rct, delimiter, sign):
    body = sign.join(["study_id", "redcap_event_name", "initials"]) + "\n"
    body += sign.join(["801", "screening_arm_1", "IJ"]) + "\n"

    confirm(paula, salt_rct, upload(paula, salt_rct, body, delimiter=delimiter))

    assert screening(salt_rct, "801")["initials"] == "IJ"


def test_a_utf8_file_with_a_byte_order_mark_is_read_as_excel_saves_it(paula, salt_rct):
    body = "\ufeffstudy_id,redcap_event_name,baseline_notes\r\n802,baseline_arm_1,減塩\r\n"

    confirm(paula, salt_rct, upload(paula, salt_rct, body))

    form = FormData.objects.get(project=salt_rct, record__record_id="802", form_name="baseline")
    assert form.values["baseline_notes"] == "減塩"


def test_another_sites_record_id_is_refused_as_unavailable_without_showing_it(
    client, salt_rct, importer_bea, osaka_record, paula_context
):
    rows = [{"study_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": "ZZ"}]
    records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())
    client.force_login(importer_bea)
    before = snapshot(salt_rct)

    response = upload(
        client, salt_rct, "study_id,redcap_event_name,initials\n1-1,screening_arm_1,AB\n"
    )

    errors = response.context["outcome"].errors
    # The same words as for any id a grouped member cannot take (issue 13): no hint of a site.
    assert [(e.row, e.record, e.message) for e in errors] == [
        (2, "1-1", "Record ID 1-1 is not available.")
    ]
    assert b"ZZ" not in response.content
    assert snapshot(salt_rct) == before


def test_a_grouped_member_imports_into_their_own_group(client, salt_rct, importer_bea, groups):
    client.force_login(importer_bea)

    confirm(
        client,
        salt_rct,
        upload(client, salt_rct, "study_id,redcap_event_name,initials\nK-9,screening_arm_1,KB\n"),
    )

    assert Record.objects.get(project=salt_rct, record_id="K-9").group == groups["kyoto_north"]


def test_data_changed_since_the_preview_gives_a_new_preview_and_writes_nothing(
    paula, salt_rct, paula_context
):
    rows = [{"study_id": "901", "redcap_event_name": "screening_arm_1", "initials": "AA"}]
    records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())
    preview = upload(
        paula, salt_rct, "study_id,redcap_event_name,initials\n901,screening_arm_1,BB\n"
    )
    rows[0]["initials"] = "CC"
    records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())
    before = snapshot(salt_rct)

    response = confirm(paula, salt_rct, preview)

    assert b'data-testid="import-stale"' in response.content
    assert [(c.old, c.new) for c in response.context["outcome"].changes] == [("CC", "BB")]
    assert snapshot(salt_rct) == before
    assert screening(salt_rct, "901")["initials"] == "CC"


def test_another_users_token_reads_as_expired(paula, salt_rct, client, admin_ada):
    preview = upload(paula, salt_rct, GOOD)
    other = Client()
    other.force_login(admin_ada)

    response = confirm(other, salt_rct, preview)

    assert response.status_code == 400
    assert "expired" in response.context["file_error"]
    assert not Record.objects.filter(project=salt_rct).exists()


def test_cancel_discards_the_staged_file(paula, salt_rct):
    preview = upload(paula, salt_rct, GOOD)
    url = reverse("import_tool:confirm", args=[salt_rct.pk])
    token = preview.context["staged"].token

    cancelled = paula.post(url, {"token": token, "cancel": "1"})
    again = paula.post(url, {"token": token, "fingerprint": preview.context["outcome"].fingerprint})

    assert b'data-testid="import-notice"' in cancelled.content
    assert again.status_code == 400
    assert not Record.objects.filter(project=salt_rct).exists()


def test_posts_without_the_csrf_token_are_refused(salt_rct, pi_paula):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pi_paula)

    response = upload(client, salt_rct, GOOD)

    assert response.status_code == 403
    assert not Record.objects.filter(project=salt_rct).exists()


def test_the_tool_needs_the_data_import_right(client, salt_rct, site_b_bea, groups):
    ProjectMember.objects.create(project=salt_rct, user=site_b_bea, **coordinator_rights(salt_rct))
    client.force_login(site_b_bea)

    page = client.get(upload_url(salt_rct))
    posted = upload(client, salt_rct, GOOD)
    template = client.get(reverse("import_tool:template", args=[salt_rct.pk]))

    assert (page.status_code, posted.status_code, template.status_code) == (403, 403, 403)
    assert not Record.objects.filter(project=salt_rct).exists()


def test_a_non_member_gets_not_found(client, salt_rct, admin_ada, django_user_model):
    stranger = django_user_model.objects.create_user("stranger_stan", password="x")
    client.force_login(stranger)

    assert client.get(upload_url(salt_rct)).status_code == 404


def test_the_template_has_the_projects_columns(paula, salt_rct):
    flat = paula.get(reverse("import_tool:template", args=[salt_rct.pk]))
    eav = paula.get(reverse("import_tool:template", args=[salt_rct.pk]) + "?layout=eav")

    header = flat.content.decode().strip().split(",")
    assert header[:5] == [
        "study_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    assert {"incl___1", "med_history___ckd", "screening_complete", "ae_term"} <= set(header)
    assert eav.content.decode() == (
        "record,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,field_name,value\n"
    )
    assert "ImportTemplate" in flat["Content-Disposition"]


def test_a_grouped_members_template_has_no_group_column(client, salt_rct, importer_bea):
    client.force_login(importer_bea)

    header = client.get(reverse("import_tool:template", args=[salt_rct.pk])).content.decode()

    assert "redcap_data_access_group" not in header


def test_hostile_text_in_the_file_is_escaped_on_the_preview(paula, salt_rct):
    body = "study_id,redcap_event_name,sex\n<script>x</script>,screening_arm_1,<b>9</b>\n"

    response = upload(paula, salt_rct, body)

    assert b"<script>x</script>" not in response.content
    assert b"&lt;b&gt;9&lt;/b&gt;" in response.content


def test_opening_the_confirm_address_goes_to_the_upload_page(paula, salt_rct):
    response = paula.get(reverse("import_tool:confirm", args=[salt_rct.pk]))

    assert response.status_code == 302
    assert response["Location"] == upload_url(salt_rct)


def test_the_previewed_calculations_are_what_applying_writes(paula, salt_rct, paula_context):
    rows = [{"study_id": "111", "redcap_event_name": "baseline_arm_1", "height": "170.0"}]
    records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())
    body = (
        "study_id,redcap_event_name,dob,consent_date,height,weight\n"
        "111,baseline_arm_1,,,,68.0\n"
        "112,screening_arm_1,1970-06-01,2026-06-01,,\n"
    )

    preview = upload(paula, salt_rct, body)
    done = confirm(paula, salt_rct, preview)

    changed = {(c.record, c.field): (c.old, c.new) for c in preview.context["outcome"].changes}
    assert changed[("111", "bmi")] == ("", "23.5")
    assert changed[("112", "age")] == ("", "56")
    assert b'data-testid="import-done"' in done.content
    baseline = FormData.objects.get(record__record_id="111", form_name="baseline")
    assert (baseline.values["bmi"], screening(salt_rct, "112")["age"]) == ("23.5", "56")


def test_a_staged_file_changed_in_storage_reads_as_expired(paula, salt_rct):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    preview = upload(paula, salt_rct, GOOD)
    token = preview.context["staged"].token
    [name] = [
        n
        for n in default_storage.listdir(
            f"staging/import/{salt_rct.pk}/{preview.wsgi_request.user.pk}"
        )[1]
        if n.startswith(token) and n.endswith(".data")
    ]
    path = f"staging/import/{salt_rct.pk}/{preview.wsgi_request.user.pk}/{name}"
    default_storage.delete(path)
    default_storage.save(path, ContentFile(GOOD.replace("AB", "XY").encode()))

    response = confirm(paula, salt_rct, preview)

    assert response.status_code == 400
    assert "expired" in response.context["file_error"]
    assert not Record.objects.filter(project=salt_rct).exists()


def test_new_records_can_be_numbered_automatically(paula, salt_rct):
    body = "study_id,redcap_event_name,initials\nx,screening_arm_1,AB\ny,screening_arm_1,CD\n"

    preview = upload(paula, salt_rct, body, force_auto_number="on")
    confirm(paula, salt_rct, preview)

    assert preview.context["outcome"].new_records == ["1", "2"]
    assert (screening(salt_rct, "1")["initials"], screening(salt_rct, "2")["initials"]) == (
        "AB",
        "CD",
    )


def test_an_error_on_every_row_is_listed_with_each_rows_line(paula, salt_rct):
    body = "study_id,redcap_event_name,sex\n" + "".join(
        f"{n},screening_arm_1,9\n" for n in range(1, 3001)
    )

    response = upload(paula, salt_rct, body)

    outcome = response.context["outcome"]
    assert outcome.error_count == 3000
    assert [(e.row, e.record) for e in outcome.errors[:2]] == [(2, "1"), (3, "2")]
    assert outcome.errors[-1].row == 3001
    assert len(outcome.shown_errors) == 2000
    assert b"1000 more errors are not listed." in response.content


def test_a_confirm_without_the_previewed_fingerprint_writes_nothing(paula, salt_rct):
    preview = upload(paula, salt_rct, GOOD)

    response = paula.post(
        reverse("import_tool:confirm", args=[salt_rct.pk]),
        {"token": preview.context["staged"].token, "fingerprint": "0" * 64},
    )

    assert b'data-testid="import-stale"' in response.content
    assert response.context["outcome"].fingerprint == preview.context["outcome"].fingerprint
    assert not Record.objects.filter(project=salt_rct).exists()


def test_an_option_outside_the_choices_is_refused_by_the_form(paula, salt_rct):
    response = upload(paula, salt_rct, GOOD, layout="xml", encoding="latin-1")

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"layout", "encoding"}
    assert not Record.objects.filter(project=salt_rct).exists()


def test_a_preview_across_the_import_chunks_matches_what_applying_writes(paula, salt_rct):
    # 1,200 form writes: each record's baseline write falls in a later chunk of 1,000 than its
    # screening write, which the import has stored by then.
    lines = ["study_id,redcap_event_name,dob,consent_date,height,weight"]
    lines += [f"{n},screening_arm_1,1970-06-01,2026-06-01,," for n in range(1, 601)]
    lines += [f"{n},baseline_arm_1,,,170.0,68.0" for n in range(1, 601)]

    preview = upload(paula, salt_rct, "\n".join(lines) + "\n")
    done = confirm(paula, salt_rct, preview)

    assert b'data-testid="import-done"' in done.content
    # screening: dob, consent_date, age, eligible; baseline: height, weight, bmi
    assert preview.context["outcome"].change_count == 600 * 4 + 600 * 3
    assert FormData.objects.filter(project=salt_rct, form_name="baseline").count() == 600


def test_new_records_are_errors_when_the_import_may_only_update(paula, salt_rct, paula_context):
    rows = [{"study_id": "101", "redcap_event_name": "screening_arm_1", "initials": "ZZ"}]
    records_import(context=paula_context, project=salt_rct, rows=rows, options=ImportOptions())
    before = snapshot(salt_rct)

    response = upload(paula, salt_rct, GOOD, allow_new="no")

    errors = response.context["outcome"].errors
    assert [(e.row, e.record, e.field, e.message) for e in errors] == [
        (
            3,
            "102",
            "study_id",
            "Record 102 does not exist, and this import may not create new records.",
        )
    ]
    assert b'data-testid="import-confirm"' not in response.content
    assert snapshot(salt_rct) == before


# Found by an outside checker: a classic project with two sites, where Bea (site B) may only
# read the labs form.

CLASSIC_ROWS = [
    ("record_id", "enrolment", "text", "", ""),
    ("name_ja", "enrolment", "text", "", ""),
    ("score", "enrolment", "text", "integer", ""),
    ("notes", "enrolment", "notes", "", ""),
    ("visit_date", "enrolment", "text", "date_ymd", ""),
    ("race", "enrolment", "checkbox", "", "1, Asian | 2, White"),
    ("lab_value", "labs", "text", "", ""),
]


@pytest.fixture
def clinic(paula_context, classic_project):
    """A classic project: records A1 (site B) and B1 (site A), each with every value."""
    from opencrf.dictionary.columns import FieldRow
    from opencrf.dictionary.services import dictionary_apply
    from opencrf.projects.services import group_create

    rows = [
        FieldRow(
            field_name=name,
            form_name=form,
            field_label=name,
            field_type=kind,
            text_validation_type_or_show_slider_number=rule,
            select_choices_or_calculations=choices,
        )
        for name, form, kind, rule, choices in CLASSIC_ROWS
    ]
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    group_create(
        context=paula_context, project=classic_project, name="Site A", unique_name="site_a"
    )
    group_create(
        context=paula_context, project=classic_project, name="Site B", unique_name="site_b"
    )
    stored = [
        {"record_id": r, "redcap_data_access_group": g, "name_ja": n, "score": "7", "notes": "x"}
        for r, g, n in (("A1", "site_b", "山田"), ("B1", "site_a", "佐藤"))
    ]
    records_import(context=paula_context, project=classic_project, rows=stored)
    classic_project.refresh_from_db()
    return classic_project


@pytest.fixture
def site_bea(clinic, site_b_bea):
    """Bea works at site B with the Data Import Tool; she may only read the labs form."""
    ProjectMember.objects.create(
        project=clinic,
        user=site_b_bea,
        group=clinic.groups.get(unique_name="site_b"),
        data_import=True,
        record_create=True,
        form_rights={"enrolment": "edit", "labs": "read"},
    )
    return site_b_bea


def errors_of(response):
    return [
        (e.row, e.record, e.field, e.value, e.message) for e in response.context["outcome"].errors
    ]


def test_another_sites_record_and_a_missing_one_are_refused_alike_when_only_updating(
    client, clinic, site_bea
):
    client.force_login(site_bea)
    before = snapshot(clinic)

    other = upload(client, clinic, "record_id,name_ja\nB1,hijack\n", allow_new="no")
    missing = upload(client, clinic, "record_id,name_ja\nZZ9,hijack\n", allow_new="no")

    message = "Record {} does not exist, and this import may not create new records."
    assert errors_of(other) == [(2, "B1", "record_id", "B1", message.format("B1"))]
    assert errors_of(missing) == [(2, "ZZ9", "record_id", "ZZ9", message.format("ZZ9"))]
    # The two pages' error tables are the same, but for the id.
    assert error_table(other).replace(b"B1", b"ZZ9") == error_table(missing)
    assert b"\xe4\xbd\x90\xe8\x97\xa4" not in other.content  # 佐藤, B1's name
    assert snapshot(clinic) == before


def error_table(response):
    return response.content.split(b'data-testid="import-errors"')[1].split(b"</table>")[0]


def test_the_service_refuses_unseen_ids_alike_and_lists_them_with_the_other_errors(
    clinic, site_bea
):
    from opencrf.audit.services import AuditContext
    from opencrf.records.imports import ImportProblem, ImportRefused

    bea = AuditContext(actor=site_bea, source="api")
    rows = [
        {"record_id": "B1", "name_ja": "x"},
        {"record_id": "A1", "score": "many"},
        {"record_id": "ZZ9", "name_ja": "y"},
    ]
    before = snapshot(clinic)

    with pytest.raises(ImportRefused) as refused:
        records_import(context=bea, project=clinic, rows=rows, options=ImportOptions(create=False))

    message = "Record {} does not exist, and this import may not create new records."
    assert refused.value.problems == [
        ImportProblem("A1", "score", "many", "many is not a valid integer value for score."),
        ImportProblem("B1", "record_id", "B1", message.format("B1")),
        ImportProblem("ZZ9", "record_id", "ZZ9", message.format("ZZ9")),
    ]
    assert snapshot(clinic) == before


def test_a_csv_row_with_fewer_values_than_the_header_is_refused_naming_its_line(paula, clinic):
    before = snapshot(clinic)

    response = upload(
        paula, clinic, "record_id,name_ja,score,notes\nA1,田中X\n", overwrite="overwrite"
    )

    assert errors_of(response) == [
        (None, "", "", "", "Line 2 of the file has fewer values than the header.")
    ]
    assert snapshot(clinic) == before
    values = FormData.objects.get(record__record_id="A1", form_name="enrolment").values
    assert (values["score"], values["notes"]) == ("7", "x")


def test_an_unknown_event_on_a_classic_project_is_refused_by_the_api_and_the_tool(
    paula, clinic, pi_paula, paula_context
):
    from opencrf.api.tests.client import post
    from opencrf.api.tokens import token_create

    token = token_create(context=paula_context, user=pi_paula, project=clinic)
    before = snapshot(clinic)
    body = "record_id,redcap_event_name,name_ja\nA1,nope_arm_1,z\n"

    api = post({"token": token, "content": "record", "format": "csv", "data": body})
    tool = upload(paula, clinic, body)

    assert (api.status_code, api.content.decode()) == (
        400,
        'ERROR: "A1","redcap_event_name","nope_arm_1","The event \'nope_arm_1\' does not exist."',
    )
    assert errors_of(tool) == [
        (2, "A1", "redcap_event_name", "nope_arm_1", "The event 'nope_arm_1' does not exist.")
    ]
    assert snapshot(clinic) == before


def test_the_classic_projects_own_event_name_is_accepted_and_the_row_counts_add_up(paula, clinic):
    body = (
        "record_id,redcap_event_name,name_ja\n"
        "A1,event_1_arm_1,新\n"  # changes A1
        "B1,,佐藤\n"  # changes nothing
        "N1,event_1_arm_1,新規\n"  # a new record
        "N1,,\n"  # the new record again
    )

    response = upload(paula, clinic, body)

    outcome = response.context["outcome"]
    assert (outcome.new_rows, outcome.updated_rows, outcome.unchanged_rows) == (2, 1, 1)
    assert outcome.new_rows + outcome.updated_rows + outcome.unchanged_rows == outcome.file_rows
    assert (outcome.new_records, outcome.updated_records) == (["N1"], ["A1"])


def test_the_row_counts_of_an_eav_file_count_its_lines(paula, clinic):
    body = "record,field_name,value\nA1,name_ja,新\nA1,score,8\nB1,score,7\nN1,score,1\n"

    outcome = upload(paula, clinic, body, layout="eav").context["outcome"]

    assert (outcome.new_rows, outcome.updated_rows, outcome.unchanged_rows) == (1, 2, 1)
    assert outcome.file_rows == 4


@pytest.mark.parametrize(
    ("date_format", "given", "shown"),
    [("DMY", "13/13/2026", "D/M/Y"), ("MDY", "02/30/2026", "M/D/Y"), ("DMY", "2026", "D/M/Y")],
)
def test_a_bad_date_is_shown_as_the_file_wrote_it_with_the_chosen_format(
    paula, clinic, date_format, given, shown
):
    response = upload(paula, clinic, f"record_id,visit_date\nA1,{given}\n", date_format=date_format)

    assert errors_of(response) == [
        (2, "A1", "visit_date", given, f"{given} is not a valid date in {shown} format.")
    ]


def test_an_unknown_field_and_the_other_cells_errors_are_listed_together(paula, clinic):
    before = snapshot(clinic)

    response = upload(
        paula, clinic, "record,field_name,value\n3,score,x\n3,nosuch,1\n", layout="eav"
    )

    assert [(e.row, e.record, e.field, e.value) for e in response.context["outcome"].errors] == [
        (2, "3", "score", "x"),
        (3, "3", "nosuch", "1"),
    ]
    assert response.context["outcome"].errors[1].message == (
        "The field 'nosuch' is not in the project as a real data field."
    )
    assert snapshot(clinic) == before


def test_a_read_only_form_is_refused_naming_the_row_record_and_form(client, clinic, site_bea):
    client.force_login(site_bea)
    before = snapshot(clinic)

    response = upload(client, clinic, "record_id,name_ja,lab_value\nA1,新,5\n")

    assert errors_of(response) == [
        (2, "A1", "lab_value", "5", "You may only read the form 'labs'; nothing was saved.")
    ]
    assert snapshot(clinic) == before


def test_a_classic_preview_has_no_event_column_and_shows_new_values_without_an_arrow(
    paula, clinic, salt_rct
):
    response = upload(paula, clinic, "record_id,race___1,name_ja\nN1,1,新\nA1,0,変\n")
    longitudinal = upload(paula, salt_rct, GOOD)

    content = response.content.decode()
    assert '<th scope="col">Event</th>' not in content
    assert "event_1_arm_1" not in content
    assert '<th scope="col">Event</th>' in longitudinal.content.decode()
    assert '<td><code>race___1</code></td><td></td><td class="text-break">1</td>' in content
    assert "→ 1" not in content
    # An existing record keeps its old → new.
    assert (
        '<td><code>name_ja</code></td><td class="text-break text-body-secondary">山田</td>'
        '<td class="text-break">→ 変</td>'
    ) in content
    changes = response.context["outcome"].changes
    assert [(c.record, c.field, c.new_record) for c in changes if c.record == "N1"] == [
        ("N1", "name_ja", True),
        ("N1", "race___1", True),
    ]


def test_staged_files_older_than_a_day_are_deleted_by_the_daily_job(paula, salt_rct):
    from datetime import UTC, datetime, timedelta

    from django.utils.module_loading import import_string

    from opencrf.ops.schedule import periodic_jobs
    from opencrf.records.import_staging import import_staged, import_staging_expire

    preview = upload(paula, salt_rct, GOOD)
    token = preview.context["staged"].token
    user = preview.wsgi_request.user.pk
    soon = datetime.now(UTC) + timedelta(hours=23)

    kept = import_staging_expire(soon)
    deleted = import_staging_expire(soon + timedelta(hours=2))

    assert (kept, deleted) == (0, 2)  # the file and its options
    assert import_staged(salt_rct.pk, user, token) is None
    [job] = [job for job in periodic_jobs() if job.job == "import_staging_expire"]
    assert import_string(job.task).func is not None
