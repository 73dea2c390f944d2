from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.models import DictionaryRevision
from opencrf.dictionary.selectors import project_rows
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow("record_id", "enrolment", field_label="Record ID"),
    FieldRow(
        "sex",
        "enrolment",
        field_type="radio",
        field_label="Sex",
        select_choices_or_calculations="1, Male | 2, Female",
    ),
    FieldRow(
        "weight", "visit", field_label="Weight", text_validation_type_or_show_slider_number="number"
    ),
]


@pytest.fixture
def designed(classic_project, paula_context):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    return classic_project


def _url(name, project, *args):
    return reverse(f"dictionary:{name}", args=[project.pk, *args])


def _base(project):
    return DictionaryRevision.objects.filter(project=project).order_by("-number").first().number


def _names(project):
    return [row.field_name for row in project_rows(project)]


def _field_post(client, project, form, data, query=""):
    values = {"base": _base(project), "field_type": "text", "custom_alignment": "", **data}
    return client.post(_url("designer_field", project, form) + query, values)


def test_the_designer_draws_fields_with_the_data_entry_renderer_and_escapes_labels(
    client, pi_paula, designed, paula_context
):
    rows = [*ROWS, FieldRow("evil", "visit", field_label="<script>alert(1)</script><b>x</b>")]
    dictionary_apply(context=paula_context, project=designed, rows=rows, source="upload")
    client.force_login(pi_paula)
    page = client.get(_url("designer_instrument", designed, "visit"))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'class="crf-field' in body and 'data-field="weight"' in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in body
    assert "<script>alert(1)" not in body
    fragment = client.get(
        _url("designer_instrument", designed, "visit"), headers={"X-Requested-With": "fetch"}
    )
    assert fragment.content.decode().lstrip().startswith('<div id="designer-fields"')


def test_a_field_is_added_with_a_name_made_from_its_label_and_edited(client, pi_paula, designed):
    client.force_login(pi_paula)
    added = _field_post(client, designed, "visit", {"field_label": "Body height"}, "?before=weight")
    assert added.status_code == 302
    assert _names(designed) == ["record_id", "sex", "body_height", "weight"]
    edited = _field_post(
        client,
        designed,
        "visit",
        {
            "field_name": "body_height",
            "field_label": "Height",
            "field_type": "text",
            "validation": "number",
            "validation_min": "50",
            "validation_max": "250",
            "required_field": "on",
            "field_annotation": "@CHARLIMIT=5",
        },
        "?field=body_height",
    )
    assert edited.status_code == 302
    assert project_rows(designed)[2] == FieldRow(
        "body_height",
        "visit",
        field_label="Height",
        text_validation_type_or_show_slider_number="number",
        text_validation_min="50",
        text_validation_max="250",
        required_field="y",
        field_annotation="@CHARLIMIT=5",
    )


def test_every_field_type_is_saved_from_the_editor(client, pi_paula, designed):
    client.force_login(pi_paula)
    posts = [
        {"field_name": "notes1", "field_type": "notes", "field_label": "Notes"},
        {
            "field_name": "drop1",
            "field_type": "dropdown",
            "field_label": "D",
            "choices": "1, A\n2, B",
        },
        {
            "field_name": "check1",
            "field_type": "checkbox",
            "field_label": "C",
            "choices": "a, A\nb, B",
        },
        {"field_name": "yn1", "field_type": "yesno", "field_label": "YN"},
        {"field_name": "tf1", "field_type": "truefalse", "field_label": "TF"},
        {"field_name": "file1", "field_type": "file", "field_label": "F"},
        {
            "field_name": "slider1",
            "field_type": "slider",
            "field_label": "S",
            "choices": "Low\nMid\nHigh",
            "show_number": "on",
        },
        {
            "field_name": "calc1",
            "field_type": "calc",
            "field_label": "Calc",
            "calculation": "[weight] * 2",
        },
        {
            "field_name": "desc1",
            "field_type": "descriptive",
            "field_label": "About",
            "section_header": "Part 2",
        },
        {
            "field_name": "m1",
            "field_type": "radio",
            "field_label": "M1",
            "choices": "1, Y\n0, N",
            "matrix_group_name": "grid",
            "matrix_ranking": "on",
        },
        {
            "field_name": "m2",
            "field_type": "radio",
            "field_label": "M2",
            "choices": "1, Y\n0, N",
            "matrix_group_name": "grid",
            "branching_logic": "[sex] = '1'",
        },
    ]
    for data in posts:
        response = _field_post(client, designed, "visit", data)
        assert response.status_code == 302, response.context and response.context["problems"]
    rows = {row.field_name: row for row in project_rows(designed)}
    assert rows["drop1"].select_choices_or_calculations == "1, A | 2, B"
    assert rows["slider1"].select_choices_or_calculations == "Low | Mid | High"
    assert rows["slider1"].text_validation_type_or_show_slider_number == "number"
    assert rows["calc1"].select_choices_or_calculations == "[weight] * 2"
    assert (rows["m1"].matrix_group_name, rows["m1"].matrix_ranking) == ("grid", "y")
    assert rows["m2"].branching_logic == "[sex] = '1'"
    page = client.get(_url("designer_instrument", designed, "visit"))
    assert 'data-matrix="grid"' in page.content.decode()


def test_dictionary_problems_are_shown_beside_the_field_and_nothing_changes(
    client, pi_paula, designed
):
    client.force_login(pi_paula)
    before = project_rows(designed)
    response = _field_post(
        client,
        designed,
        "visit",
        {"field_name": "bad", "field_label": "Bad", "branching_logic": "[nowhere] = 1"},
    )
    assert response.status_code == 400
    _message, mine, _others = response.context["problems"]
    assert [p.rule for p in mine] == ["logic_syntax"] or mine[0].column.startswith("Branching")
    assert project_rows(designed) == before


def test_a_stale_page_is_refused_with_a_clear_message(client, pi_paula, designed):
    client.force_login(pi_paula)
    stale = _base(designed)
    _field_post(client, designed, "visit", {"field_label": "Height"})
    response = client.post(
        _url("designer_fields", designed, "visit"),
        {"base": stale, "op": "copy:weight"},
        follow=True,
    )
    assert "The design changed since this page was loaded" in response.content.decode()
    assert "weight_copy" not in _names(designed)


def test_field_buttons_move_copy_and_delete_and_answer_fetch_with_the_fragment(
    client, pi_paula, designed
):
    client.force_login(pi_paula)
    post = client.post(
        _url("designer_fields", designed, "visit"),
        {"base": _base(designed), "op": "copy:weight"},
        headers={"X-Requested-With": "fetch"},
    )
    assert post.status_code == 200 and 'id="designer-fields"' in post.content.decode()
    client.post(
        _url("designer_fields", designed, "visit"),
        {"base": _base(designed), "op": "before:weight_copy", "target": "weight"},
    )
    assert _names(designed) == ["record_id", "sex", "weight_copy", "weight"]
    client.post(
        _url("designer_fields", designed, "visit"),
        {
            "base": _base(designed),
            "op": "move:weight",
            "to_instrument": "enrolment",
            "position": "2",
        },
    )
    assert _names(designed) == ["record_id", "weight", "sex", "weight_copy"]
    confirm = client.post(
        _url("designer_fields", designed, "enrolment"),
        {"base": _base(designed), "op": "delete:weight"},
    )
    assert confirm.status_code == 200 and _names(designed)[1] == "weight"
    client.post(
        _url("designer_fields", designed, "enrolment"),
        {"base": _base(designed), "op": "delete:weight", "confirmed": "1"},
    )
    assert _names(designed) == ["record_id", "sex", "weight_copy"]


def test_instruments_are_created_renamed_reordered_and_deleted_by_typing_the_name(
    client, pi_paula, designed
):
    client.force_login(pi_paula)
    url = _url("designer_instruments", designed)
    client.post(url, {"base": _base(designed), "op": "create", "label": "Adverse events"})
    assert designed.instruments.get(name="adverse_events").label == "Adverse events"
    client.post(
        url, {"base": _base(designed), "op": "rename", "instrument": "visit", "label": "Follow-up"}
    )
    client.post(url, {"base": _base(designed), "op": "up", "instrument": "adverse_events"})
    assert list(designed.instruments.values_list("name", "label")) == [
        ("enrolment", "Enrolment"),
        ("adverse_events", "Adverse events"),
        ("visit", "Follow-up"),
    ]
    asked = client.post(url, {"base": _base(designed), "op": "delete", "instrument": "visit"})
    assert asked.status_code == 200 and designed.instruments.filter(name="visit").exists()
    wrong = client.post(
        url,
        {"base": _base(designed), "op": "delete", "instrument": "visit", "confirm_name": "Visit"},
    )
    assert wrong.context["mismatch"] and designed.instruments.filter(name="visit").exists()
    client.post(
        url,
        {"base": _base(designed), "op": "delete", "instrument": "visit", "confirm_name": "visit"},
    )
    assert not designed.instruments.filter(name="visit").exists()


def test_an_instrument_holding_data_is_not_deleted(client, pi_paula, designed, paula_context):
    from opencrf.records.models import FormData, Record

    record = Record.objects.create(project=designed, record_id="1", sort_key="1")
    FormData.objects.create(
        project=designed,
        record=record,
        event=designed.events.get(),
        form_name="visit",
        values={"weight": "70"},
    )
    client.force_login(pi_paula)
    refused = client.post(
        _url("designer_instruments", designed),
        {"base": _base(designed), "op": "delete", "instrument": "visit", "confirm_name": "visit"},
    )
    assert refused.status_code == 409
    assert "1 stored form" in refused.content.decode()
    asked = client.post(
        _url("designer_fields", designed, "visit"), {"base": _base(designed), "op": "delete:weight"}
    )
    assert "1 stored form holds a value in this field" in asked.content.decode()
    assert designed.instruments.filter(name="visit").exists()
    recoded = _field_post(
        client,
        designed,
        "enrolment",
        {
            "field_name": "sex",
            "field_type": "radio",
            "field_label": "Sex",
            "choices": "1, Male\n3, Female",
        },
        "?field=sex",
    )
    assert recoded.status_code == 302  # code 2 holds no data yet
    FormData.objects.create(
        project=designed,
        record=record,
        event=designed.events.get(),
        form_name="enrolment",
        values={"sex": "3"},
    )
    refused = _field_post(
        client,
        designed,
        "enrolment",
        {
            "field_name": "sex",
            "field_type": "radio",
            "field_label": "Sex",
            "choices": "1, Male\n2, Female",
        },
        "?field=sex",
    )
    assert refused.status_code == 400
    assert "3 (1)" in refused.content.decode()


def test_an_instrument_zip_downloads_and_uploads_as_a_new_instrument(client, pi_paula, designed):
    client.force_login(pi_paula)
    download = client.get(_url("designer_zip", designed, "visit"))
    assert download["Content-Type"] == "application/zip"
    csv = zipfile.ZipFile(io.BytesIO(download.content)).read("instrument.csv")
    assert parse_dictionary_csv(csv) == [ROWS[2]]
    upload = SimpleUploadedFile("visit.zip", download.content, content_type="application/zip")
    response = client.post(
        _url("designer_upload", designed), {"base": _base(designed), "file": upload}, follow=True
    )
    assert "visit → visit_2" in response.content.decode()
    assert _names(designed) == ["record_id", "sex", "weight", "weight_2"]
    assert project_rows(designed)[-1].form_name == "visit_2"


def test_the_logic_check_and_the_calculation_test_use_the_python_engine(client, pi_paula, designed):
    from opencrf.records.models import FormData, Record

    record = Record.objects.create(project=designed, record_id="7", sort_key="7")
    event = designed.events.get()
    FormData.objects.create(
        project=designed, record=record, event=event, form_name="visit", values={"weight": "70.5"}
    )
    client.force_login(pi_paula)
    check = client.get(_url("designer_logic_check", designed), {"text": "[weight] > "})
    assert check.json()["ok"] is False
    assert client.get(_url("designer_logic_check", designed), {"text": "[weight]>1"}).json()["ok"]
    result = client.post(
        _url("designer_calc_test", designed),
        {"expression": "[weight] * 2", "record": "7", "event": event.unique_name},
    )
    assert result.json() == {"ok": True, "value": "141"}
    missing = client.post(
        _url("designer_calc_test", designed),
        {"expression": "[weight]", "record": "8", "event": event.unique_name},
    )
    assert missing.status_code == 404


def test_without_the_design_right_every_designer_url_is_refused_and_nothing_changes(
    client, designed, site_b_bea, pi_paula, paula_context
):
    urls = [
        ("get", _url("designer", designed), {}),
        ("get", _url("designer_instrument", designed, "visit"), {}),
        ("get", _url("designer_field", designed, "visit"), {}),
        ("get", _url("designer_zip", designed, "visit"), {}),
        ("get", _url("designer_logic_check", designed), {"text": "1"}),
        ("post", _url("designer_calc_test", designed), {"expression": "1"}),
        (
            "post",
            _url("designer_instruments", designed),
            {"base": _base(designed), "op": "create", "label": "X"},
        ),
        (
            "post",
            _url("designer_fields", designed, "visit"),
            {"base": _base(designed), "op": "copy:weight"},
        ),
        (
            "post",
            _url("designer_field", designed, "visit"),
            {"base": _base(designed), "field_type": "text", "field_label": "X"},
        ),
    ]
    client.force_login(site_b_bea)
    for method, url, data in urls:
        assert getattr(client, method)(url, data).status_code == 404, url
    ProjectMember.objects.create(project=designed, user=site_b_bea)
    for method, url, data in urls:
        assert getattr(client, method)(url, data).status_code == 403, url
    assert _names(designed) == ["record_id", "sex", "weight"]
    assert DictionaryRevision.objects.filter(project=designed).count() == 1


def test_the_designer_and_a_dictionary_upload_write_identical_revisions(
    client, pi_paula, classic_project, paula_context
):
    from opencrf.projects.services import project_create

    client.force_login(pi_paula)
    other = project_create(context=paula_context, title="Classic study")
    # Built in the designer, from a blank project's first field.
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS[:1], source="upload")
    url = _url("designer_instruments", classic_project)
    client.post(url, {"base": _base(classic_project), "op": "create", "label": "Visit"})
    for data in [
        {"field_name": "weight", "field_label": "Weight", "validation": "number"},
        {
            "field_name": "sex",
            "field_type": "radio",
            "field_label": "Sex",
            "choices": "1, Male\n2, Female",
        },
    ]:
        _field_post(client, classic_project, "visit", data)
    client.post(
        _url("designer_fields", classic_project, "visit"),
        {"base": _base(classic_project), "op": "delete:visit_intro", "confirmed": "1"},
    )
    client.post(
        _url("designer_fields", classic_project, "visit"),
        {
            "base": _base(classic_project),
            "op": "move:sex",
            "to_instrument": "enrolment",
            "position": "2",
        },
    )
    # The same design uploaded as a file.
    dictionary_apply(context=paula_context, project=other, rows=ROWS, source="upload")
    downloads = [
        b"".join(client.get(_url("download", project)).streaming_content)
        for project in (classic_project, other)
    ]
    assert downloads[0] == downloads[1]
    designer_rev = DictionaryRevision.objects.filter(project=classic_project).latest("number")
    assert designer_rev.field_rows() == ROWS


HOSTILE = "<img src=x onerror=alert(1)>"


def test_hostile_text_in_every_designer_input_is_shown_inert(client, pi_paula, designed):
    client.force_login(pi_paula)
    response = _field_post(
        client,
        designed,
        "visit",
        {
            "field_name": "evil",
            "field_type": "radio",
            "field_label": HOSTILE,
            "choices": f"1, {HOSTILE}\n2, B",
            "field_note": HOSTILE,
            "section_header": HOSTILE,
            "question_number": HOSTILE,
            "field_annotation": f"@PLACEHOLDER='{HOSTILE}'",
        },
    )
    assert response.status_code == 302
    client.post(
        _url("designer_instruments", designed),
        {"base": _base(designed), "op": "rename", "instrument": "visit", "label": HOSTILE},
    )
    pages = [
        client.get(_url("designer", designed)),
        client.get(_url("designer_instrument", designed, "visit")),
        client.get(_url("designer_field", designed, "visit") + "?field=evil"),
    ]
    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200
        assert "<img src=x" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_a_project_in_production_without_a_draft_refuses_designer_changes(
    client, pi_paula, designed
):
    from opencrf.projects.models import Project

    Project.objects.filter(pk=designed.pk).update(status="production")
    client.force_login(pi_paula)
    page = client.get(_url("designer_instrument", designed, "visit"))
    assert 'data-testid="designer-readonly"' in page.content.decode()
    assert 'data-testid="edit-weight"' not in page.content.decode()
    response = client.post(
        _url("designer_fields", designed, "visit"),
        {"base": _base(designed), "op": "copy:weight"},
        follow=True,
    )
    assert "draft mode" in response.content.decode()
    assert _names(designed) == ["record_id", "sex", "weight"]
