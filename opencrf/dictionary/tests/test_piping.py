from __future__ import annotations

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.piping import BLANK, make_piper

FIELDS = {
    row.field_name: row
    for row in [
        FieldRow("name", "f"),
        FieldRow(
            "sex", "f", field_type="radio", select_choices_or_calculations="1, Male | 2, Female"
        ),
        FieldRow(
            "meds",
            "f",
            field_type="checkbox",
            select_choices_or_calculations="a, Aspirin | b, Beta",
        ),
        FieldRow("ok", "f", field_type="yesno"),
        FieldRow("weight", "f", text_validation_type_or_show_slider_number="number"),
    ]
}


def pipe(text, values, **kwargs):
    return make_piper(FIELDS, values, **kwargs)(text)


def test_a_text_field_pipes_its_value():
    assert pipe("Hello [name]!", {"name": "Ada"}) == "Hello Ada!"


def test_a_choice_field_pipes_its_label_unless_the_value_is_asked_for():
    values = {"sex": "2"}
    assert pipe("[sex] / [sex:value] / [sex:label]", values) == "Female / 2 / Female"


def test_a_checkbox_pipes_its_checked_labels():
    values = {"meds___a": "1", "meds___b": "0"}
    assert pipe("[meds]", values) == "Aspirin"
    assert pipe("[meds:unchecked]", values) == "Beta"
    assert pipe("[meds:value]", values) == "a"


def test_yes_no_pipes_a_word_and_labels_can_be_translated():
    assert pipe("[ok]", {"ok": "1"}) == "Yes"
    assert pipe("[ok]", {"ok": "0"}, choice_labels={"yesno": {"0": "いいえ"}}) == "いいえ"


def test_a_blank_value_shows_underscores():
    assert pipe("Weight: [weight] kg", {}) == f"Weight: {BLANK} kg"


def test_another_event_is_read_from_data():
    data = {"baseline_arm_1": {"1": {"weight": "61.5"}}}
    assert pipe("Baseline [baseline_arm_1][weight] kg", {}, data=data) == "Baseline 61.5 kg"


def test_smart_variables_are_piped():
    assert pipe("Record [record-name]", {}, smart={"record-name": "1001"}) == "Record 1001"


def test_unknown_names_and_other_brackets_are_left_alone():
    assert pipe("[nobody] [1] [Name] (see [ref])", {}) == "[nobody] [1] [Name] (see [ref])"


def test_piped_values_are_text_and_stay_unescaped_here():
    # Escaping happens in the template; piping must not double-escape or mark anything safe.
    assert pipe("[name]", {"name": "<b>x</b>"}) == "<b>x</b>"


def test_the_layout_pipes_labels_notes_headers_and_choice_labels():
    from opencrf.dictionary.rendering import FieldBlock, SectionBlock, instrument_layout

    rows = [
        # `name` is on another form here: fields of this form are piped live (test_live_piping).
        FieldRow("intro", "f", section_header="About [name]", field_label="Name"),
        FieldRow(
            "sex",
            "f",
            field_type="radio",
            field_label="Is [name] male?",
            field_note="[name]",
            select_choices_or_calculations="1, [name] is male | 2, No",
        ),
    ]
    blocks = instrument_layout(rows, pipe=make_piper(FIELDS, {"name": "Ada"}))

    assert isinstance(blocks[0], SectionBlock) and blocks[0].text == "About Ada"
    sex = blocks[2]
    assert isinstance(sex, FieldBlock)
    assert (sex.field.label, sex.field.note) == ("Is Ada male?", "Ada")
    assert [c.label for c in sex.field.choices] == ["Ada is male", "No"]
