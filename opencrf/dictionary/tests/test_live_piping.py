"""Live piping: references to fields of the same form become spans the browser keeps up to date."""

from __future__ import annotations

from pathlib import Path

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.piping import BLANK, make_piper
from opencrf.dictionary.rendering import FieldBlock, SectionBlock, instrument_layout

ROWS = [
    FieldRow("first_name", "intake", field_label="First name"),
    FieldRow(
        "sex", "intake", field_type="radio", select_choices_or_calculations="1, Male | 2, F<e>male"
    ),
    FieldRow(
        "meds",
        "intake",
        field_type="checkbox",
        select_choices_or_calculations="a, Aspirin | -9, None",
    ),
    FieldRow("ok", "intake", field_type="yesno"),
    FieldRow("scan", "intake", field_type="file"),
    FieldRow("bmi", "intake", field_type="calc", select_choices_or_calculations="[ok] * 2"),
    FieldRow("site", "enrolment", field_label="Site"),
]
FIELDS = {row.field_name: row for row in ROWS}
ON_FORM = [row.field_name for row in ROWS if row.form_name == "intake"]


def live(text, values, **kwargs):
    return make_piper(FIELDS, values, **kwargs).live_for(ON_FORM)(text)


def test_a_field_of_the_same_form_is_wrapped_in_a_live_span():
    piped = live("Hello [first_name]!", {"first_name": "Ada"})

    assert isinstance(piped, SafeString)
    assert piped == (
        'Hello <span class="crf-pipe" data-pipe="first_name" data-pipe-mode="label"'
        ' data-pipe-type="text">Ada</span>!'
    )


def test_a_blank_value_shows_the_servers_blank_inside_the_span():
    assert live("[first_name]", {}) == (
        '<span class="crf-pipe" data-pipe="first_name" data-pipe-mode="label"'
        f' data-pipe-type="text">{BLANK}</span>'
    )


def test_a_choice_field_carries_its_escaped_choices_and_pipes_its_label():
    choices = (
        ' data-pipe-choices="[[&quot;1&quot;, &quot;Male&quot;],'
        ' [&quot;2&quot;, &quot;F&lt;e&gt;male&quot;]]"'
    )
    assert live("[sex] [sex:value]", {"sex": "2"}) == (
        '<span class="crf-pipe" data-pipe="sex" data-pipe-mode="label" data-pipe-type="radio"'
        f"{choices}>F&lt;e&gt;male</span> "
        '<span class="crf-pipe" data-pipe="sex" data-pipe-mode="value" data-pipe-type="radio"'
        f"{choices}>2</span>"
    )


def test_a_checkbox_carries_the_columns_of_its_boxes():
    values = {"meds___a": "0", "meds____9": "1"}
    assert live("[meds:unchecked]", values) == (
        '<span class="crf-pipe" data-pipe="meds" data-pipe-mode="unchecked"'
        ' data-pipe-type="checkbox" data-pipe-choices="[[&quot;a&quot;, &quot;Aspirin&quot;,'
        ' &quot;meds___a&quot;], [&quot;-9&quot;, &quot;None&quot;, &quot;meds____9&quot;]]">'
        "Aspirin</span>"
    )


def test_yes_no_carries_the_labels_the_server_pipes():
    assert live("[ok:checked]", {"ok": "1"}) == (
        '<span class="crf-pipe" data-pipe="ok" data-pipe-mode="checked" data-pipe-type="yesno"'
        ' data-pipe-choices="[[&quot;1&quot;, &quot;Yes&quot;], [&quot;0&quot;, &quot;No&quot;]]">'
        "Yes</span>"
    )


def test_values_and_the_text_around_them_cannot_become_markup():
    piped = live(
        '<b onclick="x">[first_name]</b> & [site]',
        {"first_name": '<img src=x onerror="alert(1)">', "site": "<i>Kyoto</i>"},
    )

    assert piped == (
        "&lt;b onclick=&quot;x&quot;&gt;"
        '<span class="crf-pipe" data-pipe="first_name" data-pipe-mode="label"'
        ' data-pipe-type="text">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</span>'
        "&lt;/b&gt; &amp; &lt;i&gt;Kyoto&lt;/i&gt;"
    )


def test_other_forms_other_events_smart_variables_and_files_stay_server_rendered():
    values = {"site": "Kyoto", "scan": "12", "first_name": "Ada"}
    data = {"visit_2": {"1": {"first_name": "Bea"}}}
    smart = {"record-name": "7"}

    piped = live(
        "[site] [visit_2][first_name] [record-name] [scan]", values, data=data, smart=smart
    )

    assert piped == "Kyoto Bea 7 12"
    assert not isinstance(piped, SafeString)


def test_without_live_fields_piping_is_plain_text_as_before():
    piped = make_piper(FIELDS, {"first_name": "<b>"})("Hello [first_name]")

    assert piped == "Hello <b>"
    assert not isinstance(piped, SafeString)


def test_the_layout_pipes_its_own_fields_live_and_dropdown_options_as_text():
    rows = [
        FieldRow("first_name", "intake", section_header="About [first_name]"),
        FieldRow(
            "sex",
            "intake",
            field_type="dropdown",
            field_label="Is [first_name] male?",
            field_note="Note on [first_name]",
            select_choices_or_calculations="1, [first_name] is male | 2, No",
        ),
        FieldRow(
            "agree",
            "intake",
            field_type="radio",
            select_choices_or_calculations="1, [first_name] agrees | 0, No",
        ),
    ]
    span = (
        '<span class="crf-pipe" data-pipe="first_name" data-pipe-mode="label"'
        ' data-pipe-type="text">Ada</span>'
    )

    blocks = instrument_layout(rows, pipe=make_piper(FIELDS, {"first_name": "Ada"}))

    assert isinstance(blocks[0], SectionBlock) and blocks[0].text == f"About {span}"
    sex, agree = blocks[2], blocks[3]
    assert isinstance(sex, FieldBlock) and isinstance(agree, FieldBlock)
    assert (sex.field.label, sex.field.note) == (f"Is {span} male?", f"Note on {span}")
    assert [c.label for c in sex.field.choices] == ["Ada is male", "No"]
    assert [c.label for c in agree.field.choices] == [f"{span} agrees", "No"]


def test_the_field_template_draws_the_span_once_and_keeps_line_breaks():
    rows = [
        FieldRow("first_name", "intake"),
        FieldRow("greeting", "intake", field_type="descriptive", field_label="Hi\n[first_name]"),
    ]
    blocks = instrument_layout(rows, pipe=make_piper(FIELDS, {"first_name": "A&B"}))

    html = render_to_string("dictionary/render/field.html", {"field": blocks[1].field})

    assert (
        'Hi<br><span class="crf-pipe" data-pipe="first_name" data-pipe-mode="label"'
        ' data-pipe-type="text">A&amp;B</span>'
    ) in html


def test_the_browser_shows_the_same_blank_as_the_server():
    script = Path(__file__).parents[2] / "static" / "opencrf" / "form-logic.js"
    assert f'export const PIPE_BLANK = "{BLANK}";' in script.read_text()
