import json

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.diff import choice_codes, diff_dictionaries

RECORD_ID = FieldRow(field_name="record_id", form_name="demographics", field_label="Record ID")
AGE = FieldRow(field_name="age", form_name="demographics", field_label="Age")
SEX = FieldRow(
    field_name="sex",
    form_name="demographics",
    field_type="radio",
    field_label="Sex",
    select_choices_or_calculations="0, Female | 1, Male | 9, Unknown",
)
VISIT_DATE = FieldRow(field_name="visit_date", form_name="visit", field_label="Visit date")
OLD = [RECORD_ID, AGE, SEX, VISIT_DATE]


def test_identical_dictionaries_have_an_empty_diff():
    diff = diff_dictionaries(OLD, list(OLD))
    assert diff.is_empty
    assert diff.summary() == {
        "added_fields": [],
        "removed_fields": [],
        "changed_fields": {},
        "added_forms": [],
        "removed_forms": [],
        "removed_choice_codes": {},
        "moved_fields": [],
    }


def test_added_and_removed_fields_are_listed_in_dictionary_order():
    weight = AGE.replace(field_name="weight")
    height = AGE.replace(field_name="height")
    diff = diff_dictionaries(OLD, [RECORD_ID, weight, SEX, height])
    assert (diff.added_fields, diff.removed_fields) == (("weight", "height"), ("age", "visit_date"))


def test_a_renamed_field_is_one_removed_and_one_added():
    diff = diff_dictionaries(OLD, [RECORD_ID, AGE.replace(field_name="age_years"), SEX, VISIT_DATE])
    assert (diff.added_fields, diff.removed_fields, diff.changed_fields) == (
        ("age_years",),
        ("age",),
        {},
    )


def test_changed_attributes_give_old_and_new_values():
    new_age = AGE.replace(
        field_label="Age (years)",
        text_validation_type_or_show_slider_number="integer",
        form_name="visit",
    )
    diff = diff_dictionaries(OLD, [RECORD_ID, new_age, SEX, VISIT_DATE])
    assert diff.changed_fields == {
        "age": {
            "form_name": ("demographics", "visit"),
            "field_label": ("Age", "Age (years)"),
            "text_validation_type_or_show_slider_number": ("", "integer"),
        }
    }
    assert not diff.is_empty


def test_forms_added_and_removed():
    labs = FieldRow(field_name="hb", form_name="labs")
    diff = diff_dictionaries(OLD, [RECORD_ID, AGE, SEX, labs])
    assert (diff.added_forms, diff.removed_forms) == (("labs",), ("visit",))


def test_removed_choice_codes_are_listed_per_field():
    new_sex = SEX.replace(select_choices_or_calculations="0, Female | 1, Male | 2, Other")
    diff = diff_dictionaries(OLD, [RECORD_ID, AGE, new_sex, VISIT_DATE])
    assert diff.removed_choice_codes == {"sex": ("9",)}
    assert diff.changed_fields == {
        "sex": {
            "select_choices_or_calculations": (
                "0, Female | 1, Male | 9, Unknown",
                "0, Female | 1, Male | 2, Other",
            )
        }
    }


def test_relabelled_and_reordered_choices_remove_no_codes():
    new_sex = SEX.replace(select_choices_or_calculations="9, Not known | 1, Man | 0, Woman")
    assert diff_dictionaries(OLD, [RECORD_ID, AGE, new_sex, VISIT_DATE]).removed_choice_codes == {}


def test_choice_codes_are_compared_exactly():
    race = FieldRow(
        "race", "demographics", field_type="checkbox", select_choices_or_calculations="A, a"
    )
    lower = race.replace(select_choices_or_calculations="a, a")
    assert diff_dictionaries([RECORD_ID, race], [RECORD_ID, lower]).removed_choice_codes == {
        "race": ("A",)
    }


def test_yesno_turned_radio_without_code_zero_loses_it():
    smoker = FieldRow("smoker", "demographics", field_type="yesno")
    radio = smoker.replace(field_type="radio", select_choices_or_calculations="1, Yes | 2, No")
    diff = diff_dictionaries([RECORD_ID, smoker], [RECORD_ID, radio])
    assert diff.removed_choice_codes == {"smoker": ("0",)}


def test_a_choice_field_turned_text_keeps_its_values_so_no_codes_are_removed():
    diff = diff_dictionaries(
        OLD,
        [
            RECORD_ID,
            AGE,
            SEX.replace(field_type="text", select_choices_or_calculations=""),
            VISIT_DATE,
        ],
    )
    assert diff.removed_choice_codes == {}
    assert diff.changed_fields["sex"]["field_type"] == ("radio", "text")


def test_choice_codes_of_each_type():
    assert [
        choice_codes(row) for row in (SEX, AGE, FieldRow("y", "f", field_type="truefalse"))
    ] == [
        ("0", "1", "9"),
        (),
        ("1", "0"),
    ]


def test_two_swapped_neighbours_are_reported_as_one_move():
    diff = diff_dictionaries(OLD, [RECORD_ID, SEX, AGE, VISIT_DATE])
    assert diff.moved_fields == ("sex",)
    assert not diff.is_empty


def test_a_field_moved_to_the_end_is_reported_alone():
    diff = diff_dictionaries(OLD, [AGE, SEX, VISIT_DATE, RECORD_ID])
    assert diff.moved_fields == ("record_id",)


def test_added_and_removed_fields_do_not_count_as_moves():
    new = [RECORD_ID, AGE.replace(field_name="new_one"), SEX, VISIT_DATE]
    assert diff_dictionaries(OLD, new).moved_fields == ()


def test_a_reversed_dictionary_moves_all_but_one_field():
    diff = diff_dictionaries(OLD, list(reversed(OLD)))
    assert len(diff.moved_fields) == 3


def test_summary_is_json_ready():
    new_sex = SEX.replace(select_choices_or_calculations="0, Female | 1, Male")
    diff = diff_dictionaries(OLD, [RECORD_ID, new_sex, AGE])
    assert json.loads(json.dumps(diff.summary())) == {
        "added_fields": [],
        "removed_fields": ["visit_date"],
        "changed_fields": {
            "sex": {
                "select_choices_or_calculations": [
                    "0, Female | 1, Male | 9, Unknown",
                    "0, Female | 1, Male",
                ]
            }
        },
        "added_forms": [],
        "removed_forms": ["visit"],
        "removed_choice_codes": {"sex": ["9"]},
        "moved_fields": ["sex"],
    }


def test_reversing_five_thousand_fields_moves_all_but_one():
    old = [AGE.replace(field_name=f"f{n}") for n in range(5000)]
    new = list(reversed(old))
    assert len(diff_dictionaries(old, new).moved_fields) == 4999
