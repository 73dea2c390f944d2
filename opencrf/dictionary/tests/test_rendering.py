"""The instrument renderer: dictionary rows → blocks → the read-only preview page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from conftest import REDCAP_PROJECTS
from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.rendering import (
    FieldBlock,
    FieldView,
    MatrixBlock,
    SectionBlock,
    field_view,
    instrument_layout,
    parse_action_tags,
)
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create

ATTACK = '<script>alert(1)</script>" onmouseover="x'


def row(name: str, field_type: str = "text", **columns: str) -> FieldRow:
    return FieldRow(field_name=name, form_name="visit", field_type=field_type, **columns)


def only_field(fields: list[FieldRow], **kwargs: str) -> FieldView:
    block = instrument_layout(fields, **kwargs)[0]
    assert isinstance(block, FieldBlock)
    return block.field


def kinds(blocks: list) -> list[str]:
    return [block.kind for block in blocks]


# --- Blocks: sections, fields, matrices ---------------------------------------------------


def test_section_header_comes_before_its_field_as_its_own_block():
    blocks = instrument_layout(
        [row("age"), row("weight", section_header="Vital signs\nMeasured seated")]
    )

    assert kinds(blocks) == ["field", "section", "field", "section", "field"]
    assert blocks[1] == SectionBlock(text="Vital signs\nMeasured seated", field_name="weight")
    assert blocks[2].field.name == "weight"


def test_consecutive_fields_of_a_matrix_group_become_one_table():
    choices = "1, Never | 2, Sometimes | 3, Often"
    fields = [
        row(
            "mood_a",
            "radio",
            select_choices_or_calculations=choices,
            matrix_group_name="mood",
            section_header="Over the last week",
        ),
        row("mood_b", "radio", select_choices_or_calculations=choices, matrix_group_name="mood"),
        row(
            "mood_c",
            "radio",
            select_choices_or_calculations=choices,
            matrix_group_name="mood",
            matrix_ranking="y",
        ),
        row("comment", "notes"),
    ]

    blocks = instrument_layout(fields)

    assert kinds(blocks) == ["section", "matrix", "field", "section", "field"]
    assert blocks[0] == SectionBlock(text="Over the last week", field_name="mood_a")
    matrix = blocks[1]
    assert isinstance(matrix, MatrixBlock)
    assert (matrix.name, matrix.input_kind, matrix.ranking) == ("mood", "radio", True)
    assert [(c.code, c.label) for c in matrix.columns] == [
        ("1", "Never"),
        ("2", "Sometimes"),
        ("3", "Often"),
    ]
    assert [field.name for field in matrix.rows] == ["mood_a", "mood_b", "mood_c"]
    assert [c.input_id for c in matrix.rows[1].choices] == [
        "f-mood_b-0",
        "f-mood_b-1",
        "f-mood_b-2",
    ]


def test_checkbox_matrix_cells_are_checkboxes_named_by_export_column():
    fields = [
        row(
            "sx_head",
            "checkbox",
            select_choices_or_calculations="1, Day | 2, Night",
            matrix_group_name="sx",
            matrix_ranking="y",
        ),
        row(
            "sx_back",
            "checkbox",
            select_choices_or_calculations="1, Day | 2, Night",
            matrix_group_name="sx",
        ),
    ]

    matrix = instrument_layout(fields)[0]

    assert isinstance(matrix, MatrixBlock)
    assert (matrix.input_kind, matrix.ranking) == ("checkbox", True)
    assert matrix.rows[1].checkbox_columns == ("sx_back___1", "sx_back___2")


def test_a_section_header_inside_a_matrix_group_starts_a_new_table():
    choices = "0, No | 1, Yes"
    fields = [
        row("a", "radio", select_choices_or_calculations=choices, matrix_group_name="grid"),
        row(
            "b",
            "radio",
            select_choices_or_calculations=choices,
            matrix_group_name="grid",
            section_header="Part two",
        ),
    ]

    blocks = instrument_layout(fields)

    assert kinds(blocks)[:3] == ["matrix", "section", "matrix"]
    assert [[f.name for f in block.rows] for block in (blocks[0], blocks[2])] == [["a"], ["b"]]


def test_separate_groups_with_a_field_between_them_stay_separate():
    choices = "0, No | 1, Yes"
    fields = [
        row("a", "radio", select_choices_or_calculations=choices, matrix_group_name="g1"),
        row("x"),
        row("b", "radio", select_choices_or_calculations=choices, matrix_group_name="g1"),
    ]

    assert kinds(instrument_layout(fields))[:3] == ["matrix", "field", "matrix"]


def test_every_form_ends_with_its_form_status_dropdown():
    blocks = instrument_layout([row("age")])

    section, status = blocks[-2], blocks[-1]
    assert section == SectionBlock(text="Form Status", field_name="visit_complete")
    assert isinstance(status, FieldBlock)
    assert (status.field.name, status.field.input_kind, status.field.label) == (
        "visit_complete",
        "select",
        "Complete?",
    )
    assert [(c.code, c.label) for c in status.field.choices] == [
        ("0", "Incomplete"),
        ("1", "Unverified"),
        ("2", "Complete"),
    ]


def test_no_fields_give_no_blocks():
    assert instrument_layout([]) == []


# --- Fields -------------------------------------------------------------------------------


def test_choices_are_parsed_with_codes_labels_ids_and_columns():
    field = only_field(
        [row("sex", "radio", select_choices_or_calculations="0, Female|1 , Male, other | Dr.")]
    )

    assert [(c.code, c.label, c.input_id, c.column) for c in field.choices] == [
        ("0", "Female", "f-sex-0", "sex"),
        ("1", "Male, other", "f-sex-1", "sex"),
        ("Dr.", "Dr.", "f-sex-2", "sex"),
    ]
    assert field.checkbox_columns == ()


def test_checkbox_options_are_named_by_their_export_columns():
    field = only_field(
        [
            row(
                "race",
                "checkbox",
                select_choices_or_calculations="1, Asian | -99, Unknown | A, Other",
            )
        ]
    )

    assert field.input_kind == "checkbox"
    assert field.checkbox_columns == ("race___1", "race____99", "race___a")


def test_yesno_and_truefalse_offer_their_fixed_choices():
    yes_no = only_field([row("smoker", "yesno")])
    true_false = only_field([row("fasting", "truefalse")])

    assert (yes_no.input_kind, true_false.input_kind) == ("radio", "radio")
    assert [(c.code, c.label) for c in yes_no.choices] == [("1", "Yes"), ("0", "No")]
    assert [(c.code, c.label) for c in true_false.choices] == [("1", "True"), ("0", "False")]


def test_slider_has_its_three_labels_range_and_number_flag():
    field = only_field(
        [
            row(
                "pain",
                "slider",
                select_choices_or_calculations="None | Some | Worst",
                text_validation_type_or_show_slider_number="number",
                text_validation_min="-1",
                text_validation_max="10",
            )
        ]
    )

    assert field.input_kind == "slider"
    assert field.slider is not None
    assert (field.slider.left, field.slider.middle, field.slider.right) == ("None", "Some", "Worst")
    assert field.slider.show_number is True
    assert (field.validation, field.format_hint, field.inputmode) == ("", "", "")
    assert (field.minimum, field.maximum) == ("-1", "10")


def test_slider_with_two_labels_and_no_range_runs_from_0_to_100():
    field = only_field([row("vas", "slider", select_choices_or_calculations="Bad | Good")])

    assert field.slider is not None
    assert (field.slider.left, field.slider.middle, field.slider.right) == ("Bad", "", "Good")
    assert field.slider.show_number is False
    assert (field.minimum, field.maximum) == ("0", "100")


@pytest.mark.parametrize(
    ("validation", "name", "hint", "inputmode"),
    [
        ("date_ymd", "date_ymd", "YYYY-MM-DD", ""),
        ("date_mdy", "date_mdy", "YYYY-MM-DD", ""),
        ("datetime_seconds_dmy", "datetime_seconds_dmy", "YYYY-MM-DD HH:MM:SS", ""),
        ("time", "time", "HH:MM", ""),
        ("int", "integer", "e.g. 123", "numeric"),
        ("number_2dp_comma_decimal", "number_2dp_comma_decimal", "e.g. 0,00", "decimal"),
        ("email", "email", "e.g. name@example.org", "email"),
        ("phone", "phone", "e.g. (415) 555-1212", "tel"),
        ("", "", "", ""),
    ],
)
def test_text_validation_gives_format_hint_and_keyboard(validation, name, hint, inputmode):
    field = only_field([row("v", text_validation_type_or_show_slider_number=validation)])

    assert (field.validation, field.format_hint, field.inputmode) == (name, hint, inputmode)


def test_text_min_and_max_are_kept_as_given():
    field = only_field(
        [
            row(
                "height",
                text_validation_type_or_show_slider_number="number_1dp",
                text_validation_min="120.0",
                text_validation_max="210.0",
            )
        ]
    )

    assert (field.minimum, field.maximum) == ("120.0", "210.0")


def test_autocomplete_dropdown_is_searchable_and_signature_is_a_hinted_file():
    dropdown = only_field(
        [
            row(
                "drug",
                "dropdown",
                select_choices_or_calculations="1, A | 2, B",
                text_validation_type_or_show_slider_number="autocomplete",
            )
        ]
    )
    signature = only_field(
        [row("sig", "file", text_validation_type_or_show_slider_number="signature")]
    )

    assert (dropdown.input_kind, dropdown.autocomplete, dropdown.format_hint) == (
        "select",
        True,
        "",
    )
    assert (signature.input_kind, signature.validation, signature.format_hint) == (
        "file",
        "signature",
        "Signature",
    )


@pytest.mark.parametrize(
    ("field_type", "input_kind"),
    [
        ("notes", "textarea"),
        ("calc", "calc"),
        ("descriptive", "descriptive"),
        ("dropdown", "select"),
        ("sql", "select"),
        ("file", "file"),
        ("text", "text"),
    ],
)
def test_field_types_map_to_input_kinds(field_type, input_kind):
    assert field_view(row("f", field_type)).input_kind == input_kind


def test_calc_is_readonly_and_carries_its_formula():
    field = only_field([row("bmi", "calc", select_choices_or_calculations="[w]/([h]/100)^2")])

    assert (field.readonly, field.calculation) == (True, "[w]/([h]/100)^2")
    assert field.choices == ()


def test_record_id_field_is_read_only_text():
    fields = [row("record_id"), row("age")]

    blocks = instrument_layout(fields, record_id_field="record_id")

    assert (blocks[0].field.input_kind, blocks[0].field.readonly) == ("record_id", True)
    assert (blocks[1].field.input_kind, blocks[1].field.readonly) == ("text", False)


def test_flags_alignment_and_question_number():
    field = only_field(
        [
            row(
                "q",
                "radio",
                select_choices_or_calculations="1, A | 2, B",
                required_field="y",
                identifier="y",
                custom_alignment="LH",
                question_number="3a",
            )
        ]
    )
    default = only_field([row("r", "radio", select_choices_or_calculations="1, A")])

    assert (field.required, field.identifier, field.question_number) == (True, True, "3a")
    assert (field.alignment, field.label_above, field.horizontal) == ("LH", True, True)
    assert (default.alignment, default.label_above, default.horizontal) == ("RV", False, False)


def test_descriptive_field_is_a_label_alone():
    field = only_field([row("intro", "descriptive", field_label="Read this first")])

    assert (field.label, field.choices, field.label_above, field.label_for) == (
        "Read this first",
        (),
        True,
        "",
    )


# --- Action tags --------------------------------------------------------------------------


def test_action_tags_are_parsed_with_their_arguments():
    annotation = (
        "@HIDDEN @CHARLIMIT=10 @PLACEHOLDER='e.g. name@example.org' "
        "@DEFAULT = \"it's\" @CALCTEXT(if([a] = ')', 'x', concat('y', 'z'))) "
        "note to self: ask bob@example.org @HIDDEN-SURVEY @READONLY @CHARLIMIT=99"
    )

    assert parse_action_tags(annotation) == {
        "@HIDDEN": "",
        "@CHARLIMIT": "10",
        "@PLACEHOLDER": "e.g. name@example.org",
        "@DEFAULT": "it's",
        "@CALCTEXT": "if([a] = ')', 'x', concat('y', 'z'))",
        "@HIDDEN-SURVEY": "",
        "@READONLY": "",
    }


def test_unclosed_action_tag_arguments_run_to_the_end():
    assert parse_action_tags("@PLACEHOLDER='open") == {"@PLACEHOLDER": "open"}
    assert parse_action_tags("@CALCTEXT(if(1") == {"@CALCTEXT": "if(1"}
    assert parse_action_tags("") == {}


def test_action_tags_set_hidden_placeholder_limit_and_readonly():
    field = only_field(
        [row("initials", field_annotation="@HIDDEN @PLACEHOLDER='TY' @CHARLIMIT=2 @READONLY")]
    )
    shown = only_field([row("other", field_annotation="@HIDDEN-SURVEY @CHARLIMIT=x")])

    assert (field.hidden, field.placeholder, field.maxlength, field.readonly) == (
        True,
        "TY",
        2,
        True,
    )
    assert set(field.action_tags) == {"@HIDDEN", "@PLACEHOLDER", "@CHARLIMIT", "@READONLY"}
    assert (shown.hidden, shown.maxlength, shown.readonly) == (False, None, False)


def test_calctext_makes_a_text_field_computed():
    field = only_field([row("cat", field_annotation="@CALCTEXT(if([bmi]<25,'ok','high'))")])

    assert (field.input_kind, field.readonly, field.calculation) == (
        "text",
        True,
        "if([bmi]<25,'ok','high')",
    )


# --- Values (data entry) ------------------------------------------------------------------


def test_values_select_choices_and_fill_inputs():
    fields = [
        row("age"),
        row("sex", "radio", select_choices_or_calculations="0, F | 1, M"),
        row("race", "checkbox", select_choices_or_calculations="1, A | 2, B | 3, C"),
    ]
    values = {
        "age": "42",
        "sex": "1",
        "race___1": "1",
        "race___2": "0",
        "race___3": "1",
        "visit_complete": "2",
    }

    blocks = instrument_layout(fields, values=values)

    assert blocks[0].field.value == "42"
    assert [c.selected for c in blocks[1].field.choices] == [False, True]
    assert [c.selected for c in blocks[2].field.choices] == [True, False, True]
    assert [c.selected for c in blocks[-1].field.choices] == [False, False, True]


def test_without_values_nothing_is_selected():
    field = only_field([row("sex", "radio", select_choices_or_calculations="0, F | 1, M")])

    assert (field.value, [c.selected for c in field.choices]) == ("", [False, False])


# --- Partials, as data entry will use them -------------------------------------------------


def test_form_partial_with_values_is_editable_and_hides_hidden_fields():
    fields = [
        row("record_id"),
        row("age", field_annotation="@HIDDEN"),
        row("sex", "radio", select_choices_or_calculations="0, F | 1, M"),
        row("race", "checkbox", select_choices_or_calculations="1, A | 2, B"),
        row("bmi", "calc", select_choices_or_calculations="1 + 1"),
    ]
    values = {"record_id": "17", "age": "42", "sex": "1", "race___2": "1", "bmi": "2"}
    layout = instrument_layout(fields, record_id_field="record_id", values=values)

    html = render_to_string(
        "dictionary/render/form.html", {"layout": layout, "readonly": False, "preview": False}
    )

    form = parse_form(f'<div class="crf">{html}<script id="crf-logic"')
    assert [c for c in form.controls if "disabled" in c] == []
    controls = {c["id"]: c for c in form.controls}
    assert (controls["f-record_id"]["value"], "readonly" in controls["f-record_id"]) == ("17", True)
    assert controls["f-age"]["value"] == "42"
    assert ["checked" in controls[f"f-sex-{i}"] for i in range(2)] == [False, True]
    assert [controls[f"f-race-{i}"]["name"] for i in range(2)] == ["race___1", "race___2"]
    assert ["checked" in controls[f"f-race-{i}"] for i in range(2)] == [False, True]
    assert "readonly" in controls["f-bmi"]
    assert '<div class="crf-field" data-field="age" data-type="text" data-hidden hidden>' in html
    assert "crf-design" not in html, "design notes are for the preview only"


# --- Pages --------------------------------------------------------------------------------


class _Controls(HTMLParser):
    """Collects the form controls of a page, and the `data-field` names, with attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.fields: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("input", "select", "textarea", "button"):
            self.controls.append({"tag": tag, **attributes})
        if attributes.get("data-field"):
            self.fields.append(attributes["data-field"] or "")


def parse_form(html: str) -> _Controls:
    """The controls of the rendered instrument (not the page's log-out or language forms)."""
    form = html.split('<div class="crf"', 1)[1].split('<script id="crf-logic"', 1)[0]
    parser = _Controls()
    parser.feed(form)
    return parser


@pytest.fixture
def designer(django_user_model):
    return django_user_model.objects.create_user(username="dana", password="irrelevant-pw-123")


def make_project(user, rows: list[FieldRow]):
    context = AuditContext(actor=user)
    project = project_create(context=context, title="Render test")
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    return project


def preview_html(client, user, project, form_name: str) -> str:
    client.force_login(user)
    response = client.get(reverse("dictionary:instrument", args=(project.pk, form_name)))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_preview_of_the_validation_types_project_shows_every_field_to_try_out(
    client, designer, settings
):
    settings.OPENCRF_ALLOW_SQL_FIELDS = True  # the fixture has a `sql` field
    data = (REDCAP_PROJECTS / "validation-types-1" / "dictionary.csv").read_bytes()
    rows = parse_dictionary_csv(data)
    project = make_project(designer, rows)

    html = preview_html(client, designer, project, "form_1")

    form = parse_form(html)
    assert form.fields == [r.field_name for r in rows] + ["form_1_complete"]
    # 45 one-input fields, 10 options of the checkbox, radio, yesno and truefalse fields, and
    # the form status; the descriptive field has none.
    assert len(form.controls) == 56
    # Only file inputs stay disabled: uploads need a saved record.
    assert [c["type"] for c in form.controls if "disabled" in c] == ["file", "file"]
    assert "<form" not in html.split('<div class="crf"', 1)[1].split("</main>", 1)[0]
    assert 'data-testid="preview-note"' in html
    assert "Menu of Validation Types (for Text Boxes)" in html
    assert "placeholder" not in html.split('id="f-v_date_mdy"')[1].split(">")[0]
    assert "MM-DD-YYYY" not in html  # the input takes the stored order (format_hint)


@pytest.mark.django_db
def test_preview_marks_hidden_fields_and_shows_logic_and_calculations(client, designer):
    rows = [
        row("record_id"),
        row(
            "flag",
            "calc",
            select_choices_or_calculations="[age] > 65",
            field_annotation="@HIDDEN",
            branching_logic="[age] <> ''",
        ),
        row(
            "age",
            identifier="y",
            required_field="y",
            field_annotation="@PLACEHOLDER='years' @CHARLIMIT=3",
            text_validation_type_or_show_slider_number="integer",
        ),
    ]
    project = make_project(designer, rows)

    html = preview_html(client, designer, project, "visit")

    assert 'class="badge crf-badge-hidden">hidden</span>' in html
    assert 'class="badge crf-badge-identifier">identifier</span>' in html
    assert "Shown if: <code>[age] &lt;&gt; &#x27;&#x27;</code>" in html
    assert "Calculation: <code>[age] &gt; 65</code>" in html
    assert 'data-branching="[age] &lt;&gt; &#x27;&#x27;"' in html
    assert 'inputmode="numeric" placeholder="years" maxlength="3" data-validation="integer"' in html
    assert 'class="crf-required"' in html
    assert " hidden>" not in html, "the preview shows @HIDDEN fields"


@pytest.mark.django_db
def test_user_text_is_escaped_everywhere(client, designer):
    rows = [
        row("record_id"),
        row(
            "q",
            "radio",
            section_header=ATTACK,
            field_label=ATTACK,
            field_note=ATTACK,
            select_choices_or_calculations=f"1, {ATTACK} | 2, ok",
            branching_logic=f"[record_id] = '{ATTACK}'",
        ),
        row(
            "m1",
            "checkbox",
            field_label=ATTACK,
            select_choices_or_calculations=f"1, {ATTACK}",
            matrix_group_name="grid",
            section_header=ATTACK,
        ),
    ]
    project = make_project(designer, rows)

    html = preview_html(client, designer, project, "visit")

    assert "<script>" not in html
    assert "alert(1)</script>" not in html
    assert '" onmouseover="x' not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    assert "&quot; onmouseover=&quot;x" in html


@pytest.mark.django_db
def test_instrument_list_shows_label_name_field_count_and_preview_link(client, designer):
    rows = [row("record_id"), row("age"), FieldRow(field_name="ae", form_name="adverse_events")]
    project = make_project(designer, rows)
    client.force_login(designer)

    response = client.get(reverse("dictionary:instruments", args=(project.pk,)))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<tr data-instrument="visit">' in html
    assert "<td>Adverse Events</td>" in html
    assert '<td class="text-end">2</td>' in html
    assert reverse("dictionary:instrument", args=(project.pk, "adverse_events")) in html
