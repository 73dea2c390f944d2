"""PostgreSQL's COPY writes raw flat CSV exports byte for byte as the Python path writes them
(records/export_copy.py): every REDCap fixture project, the demo study, a longitudinal study
with repeats, groups and hostile values, in both dialects (export files and the API)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection

from conftest import REDCAP_PROJECTS
from opencrf.api.formats import csv_line
from opencrf.audit.services import AuditContext
from opencrf.demo.loader import load_demo
from opencrf.dictionary.design import design_of
from opencrf.exports.services import export_write
from opencrf.exports.table import ExportRequest
from opencrf.logic import parse_shared
from opencrf.records import export_copy
from opencrf.records.export import ExportOptions, export_layout, flat_cells
from opencrf.records.export_copy import PHP_CSV, copy_csv
from opencrf.records.models import FormData, Record
from opencrf.records.project_xml import project_create_from_xml
from opencrf.records.selectors import records_visible_to

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="COPY is PostgreSQL's; SQLite keeps Python"
    ),
]

FIXTURES = sorted(
    path.name for path in REDCAP_PROJECTS.iterdir() if (path / "project.xml").exists()
)
HOSTILE = [
    "",
    " ",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\nend",
    "\\.",
    "\\",
    "tab\there",
    " leading",
    "trailing ",
    "日本語の値、カンマ，句点。",
    "=1+1",
    "\ufeffbom",
    '""',
    "\u2028sep",
    "x;y|z^w",
]


def fixture_project(user, name):
    data = (REDCAP_PROJECTS / name / "project.xml").read_bytes()
    return project_create_from_xml(context=AuditContext(actor=user, source="import"), data=data)


def python_bytes(project, layout, records, options) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(flat_cells(project, design_of(project), records, layout, options))
    return out.getvalue().encode()


def php_bytes(project, layout, records, options, delimiter=",") -> bytes:
    rows = flat_cells(project, design_of(project), records, layout, options)
    return "".join(csv_line(row, delimiter) for row in rows).encode()


def copied_bytes(project, layout, records, options, **dialect) -> bytes:
    copied = copy_csv(project, design_of(project), records, layout, options, **dialect)
    assert copied is not None
    data = b"".join(copied)
    rows = flat_cells(project, design_of(project), records, layout, options)
    assert copied.rows == sum(1 for _row in rows)
    return data


def assert_same(project, records=None, options=None, **layout_options):
    options = options or ExportOptions()
    design = design_of(project)
    layout = export_layout(project, design, **layout_options)
    records = Record.objects.filter(project=project) if records is None else records
    written = python_bytes(project, layout, records, options)
    assert copied_bytes(project, layout, records, options) == written
    for delimiter in (",", "\t", ";"):
        expected = php_bytes(project, layout, records, options, delimiter)
        found = copied_bytes(
            project,
            layout,
            records,
            options,
            dialect=PHP_CSV,
            delimiter=delimiter,
            rewrite_line=lambda cells, d=delimiter: csv_line(cells, d),
        )
        assert found == expected, delimiter
    return written


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_project_is_copied_as_python_writes_it(name, pi_paula, settings):
    settings.OPENCRF_ALLOW_SQL_FIELDS = True  # validation-types-1 has one
    project = fixture_project(pi_paula, name)

    written = assert_same(project, options=ExportOptions(groups=True), groups=True)

    assert written or not FormData.objects.filter(project=project).exists()


@pytest.mark.parametrize("name", ["blank-for-gray-status", "decimal-comma", "longitudinal"])
def test_gray_status_blanks_and_decimal_commas_are_copied(name, pi_paula):
    project = fixture_project(pi_paula, name)

    assert_same(project, options=ExportOptions(blank_gray_status=True, decimal_comma=True))


def test_chosen_fields_forms_and_events_are_copied(pi_paula):
    project = fixture_project(pi_paula, "longitudinal")
    design = design_of(project)
    event = design.events[1].unique_name
    form = design.instruments[1].name
    field = design.rows[3].field_name

    assert_same(project, options=ExportOptions(events=frozenset({event})), forms=[form])
    assert_same(project, fields=[field])  # no record id: one column, for the API


def test_the_demo_study_is_copied_whole_and_for_one_site(pi_paula, django_user_model):
    project, _created = load_demo(owner_username="pi_paula")
    assert_same(project, options=ExportOptions(groups=True), groups=True)
    group = project.groups.order_by("pk").first()
    site = Record.objects.filter(project=project, group=group)
    others = Record.objects.filter(project=project).exclude(group=group)
    assert site.exists() and others.exists()

    written = assert_same(project, records=site)

    listed = {line.split(b",")[0] for line in written.splitlines()}
    assert not listed & {r.record_id.encode() for r in others}


def test_a_member_of_one_group_gets_only_its_records_from_the_export_file(
    pi_paula, django_user_model
):
    from opencrf.projects.models import ProjectMember

    project, _created = load_demo(owner_username="pi_paula")
    group = project.groups.order_by("pk").first()
    forms = list(project.instruments.values_list("name", flat=True))
    sam = django_user_model.objects.create_user(username="site_a_sam", password="x")
    ProjectMember.objects.create(
        project=project,
        user=sam,
        group=group,
        form_rights=dict.fromkeys(forms, "edit"),
        export_rights=dict.fromkeys(forms, "full"),
    )
    fast = _export_file(sam, project)
    expected = b"\xef\xbb\xbf" + assert_same(project, records=records_visible_to(sam, project))

    assert fast.endswith(expected[3:]) and fast.startswith(b"\xef\xbb\xbf")
    assert _export_file(sam, project, copy=False) == fast
    others = Record.objects.filter(project=project).exclude(group=group)
    listed = {row[0] for row in csv.reader(io.StringIO(fast.decode("utf-8-sig")))}
    assert not listed & {record.record_id for record in others}


def _export_file(user, project, *, copy=True) -> bytes:
    out = io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        if not copy:
            patch.setattr(export_copy, "ENABLED", False)
        export_write(
            context=AuditContext(actor=user, source="web"),
            project=project,
            format="csv",
            request=ExportRequest(),
            out=out,
        )
    return out.getvalue()


def test_hostile_values_repeats_and_events_are_copied(pi_paula):
    project = fixture_project(pi_paula, "repeating-instruments")
    forms = FormData.objects.filter(project=project).order_by("pk")
    text_keys = sorted({key for form in forms for key in form.values if "___" not in key})
    for n, form in enumerate(forms):
        values = dict(form.values)
        for m, key in enumerate(text_keys):
            if key in values:
                values[key] = HOSTILE[(n + m) % len(HOSTILE)]
        FormData.objects.filter(pk=form.pk).update(values=values)

    assert_same(project, options=ExportOptions(groups=True), groups=True)


def test_the_export_file_is_the_same_with_and_without_copy(pi_paula):
    project = fixture_project(pi_paula, "longitudinal")

    assert _export_file(pi_paula, project) == _export_file(pi_paula, project, copy=False)


def test_options_only_python_has_are_left_to_python(pi_paula):
    project = fixture_project(pi_paula, "simple")
    design = design_of(project)
    layout = export_layout(project, design)
    records = Record.objects.filter(project=project)

    for options in (
        ExportOptions(labels=True),
        ExportOptions(filter=parse_shared("1 = 1")),
        ExportOptions(only=frozenset()),
    ):
        assert copy_csv(project, design, records, layout, options) is None


def test_no_records_copy_no_lines(pi_paula):
    project = fixture_project(pi_paula, "simple")
    design = design_of(project)
    layout = export_layout(project, design)

    copied = copy_csv(project, design, Record.objects.none(), layout, ExportOptions())

    assert copied is not None and list(copied) == [] and copied.rows == 0


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"csvDelimiter": "tab", "exportDataAccessGroups": "true"},
        {"rawOrLabelHeaders": "label", "exportBlankForGrayFormStatus": "true"},
        {"records[0]": "1-1", "events[0]": "screening_arm_1", "decimalCharacter": ","},
    ],
)
def test_the_api_answers_the_same_csv_with_and_without_copy(options, pi_paula, paula_context):
    from opencrf.api.tests.client import post
    from opencrf.api.tokens import token_create

    project, _created = load_demo(owner_username="pi_paula")
    token = token_create(context=paula_context, user=pi_paula, project=project)
    data = {"token": token, "content": "record", "format": "csv", "type": "flat", **options}

    fast = post(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export_copy, "ENABLED", False)
        slow = post(data)

    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content and fast.content.count(b"\n") > 1
    assert fast.content_type == slow.content_type


def test_the_api_answers_no_rows_with_an_empty_body(pi_paula, paula_context):
    from opencrf.api.tests.client import post
    from opencrf.api.tokens import token_create

    project, _created = load_demo(owner_username="pi_paula")
    token = token_create(context=paula_context, user=pi_paula, project=project)

    answer = post({"token": token, "content": "record", "format": "csv", "records[0]": "none"})

    assert (answer.status_code, answer.content) == (200, b"")


def test_file_fields_are_copied_as_their_live_files_names(pi_paula):
    from django.utils import timezone

    from opencrf.files.models import StoredFile

    project = fixture_project(pi_paula, "simple")
    design = design_of(project)
    row = next(row for row in design.rows if row.field_type == "file")

    def stored(name, **extra):
        return StoredFile.objects.create(
            project=project,
            key=f"k/{name}",
            original_name=name,
            size=1,
            media_type="x",
            sha256="0",
            **extra,
        )

    live = stored('検査 結果,"v2".pdf')
    gone = stored("deleted.pdf", deleted_at=timezone.now())
    values = [str(live.pk), str(gone.pk), f"00{live.pk}", "abc", "", "9" * 30, "１"]
    forms = FormData.objects.filter(project=project, form_name=row.form_name).order_by("pk")
    assert forms.count() >= 2
    for n, form in enumerate(forms):
        changed = {**form.values, row.field_name: values[n % len(values)]}
        FormData.objects.filter(pk=form.pk).update(values=changed)

    written = assert_same(project)

    assert "検査 結果".encode() in written and b"deleted.pdf" not in written
