"""Multi-language forms: translation keys, the translation file, services and shown rows."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import design_of
from opencrf.dictionary.services import dictionary_apply
from opencrf.dictionary.translation_selectors import language_progress, translation_table
from opencrf.dictionary.translation_services import (
    language_add,
    language_remove,
    language_set_base,
    translations_set,
    translations_upload,
)
from opencrf.dictionary.translations import (
    Item,
    TranslationFileError,
    design_items,
    read_translation_file,
    text_hash,
    translate_rows,
    write_translation_file,
)

ROWS = [
    FieldRow("record_id", "enrolment", field_label="Record ID"),
    FieldRow(
        "sex",
        "enrolment",
        section_header="Demographics",
        field_type="radio",
        field_label="Sex",
        select_choices_or_calculations="1, Male | 2, Female",
        field_note="As recorded at birth",
    ),
    FieldRow(
        "pain",
        "enrolment",
        field_type="slider",
        field_label="Pain",
        select_choices_or_calculations="None | Worst",
    ),
    FieldRow("bmi", "enrolment", field_type="calc", select_choices_or_calculations="1+1"),
]
LABELS = {"enrolment": "Enrolment"}


def test_design_items_list_every_text_in_dictionary_order_and_skip_empty_ones():
    assert [item.key for item in design_items(ROWS, LABELS)] == [
        ("form-name", "enrolment", ""),
        ("field-label", "record_id", ""),
        ("field-header", "sex", ""),
        ("field-label", "sex", ""),
        ("field-note", "sex", ""),
        ("field-enum", "sex", "1"),
        ("field-enum", "sex", "2"),
        ("field-label", "pain", ""),
        ("field-slider", "pain", "left"),
        ("field-slider", "pain", "right"),
    ]


def test_translate_rows_puts_in_each_translated_text_and_keeps_the_rest():
    table = {
        ("field-label", "sex", ""): "性別",
        ("field-enum", "sex", "2"): "女性",
        ("field-slider", "pain", "right"): "最悪",
    }
    rows = translate_rows(ROWS, table)
    assert rows[1].field_label == "性別"
    assert rows[1].select_choices_or_calculations == "1, Male | 2, 女性"
    assert rows[1].field_note == "As recorded at birth"
    assert rows[2].select_choices_or_calculations == "None |  | 最悪"
    assert rows[3] == ROWS[3]
    assert translate_rows(ROWS, {}) == ROWS


def _file(*lines: str) -> bytes:
    return ("\r\n".join(["type,name,index,hash,default,translation", *lines]) + "\r\n").encode()


def test_the_translation_file_round_trips():
    items = design_items(ROWS, LABELS)
    text = write_translation_file(items, {("field-label", "sex", ""): "性別"})
    lines = read_translation_file(text.encode(), items)
    assert [(line.item.key, line.translation, line.outdated) for line in lines][2:4] == [
        (("field-header", "sex", ""), "", False),
        (("field-label", "sex", ""), "性別", False),
    ]
    assert text.splitlines()[4] == f"field-label,sex,,{text_hash('Sex')},Sex,性別"


def test_every_bad_line_of_a_translation_file_is_named():
    items = design_items(ROWS, LABELS)
    with pytest.raises(TranslationFileError) as caught:
        read_translation_file(
            _file(
                "field-label,sex,,,Sex,性別",
                "field-lable,sex,,,Sex,性別",
                "field-label,nosuch,,,X,Y",
                "field-enum,sex,9,,X,Y",
            ),
            items,
        )
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (
            3,
            "Unknown type “field-lable”; the design has field-enum, field-header, "
            "field-label, field-note, field-slider, form-name.",
        ),
        (4, "The design has no field-label text for “nosuch”."),
        (5, "“sex” has no field-enum text with index “9”."),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\xff\xfet\x00", "The file is UTF-16; save it as CSV UTF-8 and upload it again."),
        (
            b"type,name\r\n",
            "The header lacks the column(s) index, translation; expected "
            "type,name,index,hash,default,translation.",
        ),
        (
            b"type,name,index,translation\r\nfield-label,sex,,\xe6\x80\r\n",
            "This line is not UTF-8 text; save the file as CSV UTF-8.",
        ),
    ],
)
def test_unreadable_translation_files_are_refused_with_the_reason(data, message):
    with pytest.raises(TranslationFileError) as caught:
        read_translation_file(data, design_items(ROWS, LABELS))
    assert [p.message for p in caught.value.problems] == [message]


def test_a_translation_of_an_older_base_text_is_outdated():
    lines = read_translation_file(
        _file(f"field-label,sex,,{text_hash('Gender')},Gender,性別"), design_items(ROWS, LABELS)
    )
    assert lines[0].outdated is True


@pytest.fixture
def bilingual(paula_context, classic_project):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    language_add(context=paula_context, project=classic_project, code="en", display_name="English")
    language_add(context=paula_context, project=classic_project, code="ja", display_name="日本語")
    classic_project.refresh_from_db()
    return classic_project


pytestmark = pytest.mark.django_db


def test_the_first_language_is_the_base_and_codes_are_checked(bilingual, paula_context):
    assert list(bilingual.languages.values_list("code", "is_base")) == [
        ("en", True),
        ("ja", False),
    ]
    with pytest.raises(InvalidInput, match="“ja_JP” is not a language code"):
        language_add(context=paula_context, project=bilingual, code="ja_JP", display_name="x")
    with pytest.raises(InvalidInput, match="already has the language “JA”"):
        language_add(context=paula_context, project=bilingual, code="JA", display_name="x")
    assert bilingual.languages.count() == 2


def test_uploading_translations_applies_all_or_nothing(bilingual, paula_context):
    good = _file("field-label,sex,,,Sex,性別", "field-enum,sex,1,,Male,男性")
    counts = translations_upload(context=paula_context, project=bilingual, code="ja", data=good)
    assert counts == {"set": 2, "removed": 0, "outdated": 0}
    bad = _file("field-label,sex,,,Sex,せい", "field-label,nosuch,,,X,Y")
    with pytest.raises(TranslationFileError):
        translations_upload(context=paula_context, project=bilingual, code="ja", data=bad)
    assert translation_table(bilingual, "ja") == {
        ("field-label", "sex", ""): "性別",
        ("field-enum", "sex", "1"): "男性",
    }
    removed = translations_upload(
        context=paula_context, project=bilingual, code="ja", data=_file("field-enum,sex,1,,Male,")
    )
    assert removed == {"set": 0, "removed": 1, "outdated": 0}
    assert AuditEvent.objects.filter(action="translation.upload").count() == 2


def test_the_base_language_takes_no_translations(bilingual, paula_context):
    with pytest.raises(InvalidInput, match="“en” is the base language"):
        translations_upload(
            context=paula_context, project=bilingual, code="en", data=_file("field-label,sex,,,S,T")
        )
    with pytest.raises(NotFound):
        translations_upload(context=paula_context, project=bilingual, code="fr", data=_file())


def test_the_design_shows_each_language_its_texts(bilingual, paula_context):
    translations_set(
        context=paula_context,
        project=bilingual,
        code="ja",
        texts={("field-label", "sex", ""): "性別", ("form-name", "enrolment", ""): "登録"},
    )
    bilingual.refresh_from_db()
    design = design_of(bilingual)
    rows = design.form_rows("enrolment")
    assert design.shown_rows(rows, "ja")[1].field_label == "性別"
    assert design.shown_rows(rows, "ja-JP")[1].field_label == "性別"
    assert design.shown_rows(rows, "en")[1].field_label == "Sex"
    assert design.shown_rows(rows, "fr")[1].field_label == "Sex"
    instrument = design.instruments[0]
    assert design.instrument_label(instrument, "ja") == "登録"
    assert design.instrument_label(instrument, "en") == "Enrolment"


def test_making_another_language_the_base_drops_its_translations(bilingual, paula_context):
    translations_set(
        context=paula_context,
        project=bilingual,
        code="ja",
        texts={("field-label", "sex", ""): "性別"},
    )
    language_set_base(context=paula_context, project=bilingual, code="ja")
    assert list(bilingual.languages.values_list("code", "is_base")) == [
        ("ja", True),
        ("en", False),
    ]
    assert not bilingual.translations.exists()
    with pytest.raises(InvalidInput, match="“ja” is the base language; remove the other"):
        language_remove(context=paula_context, project=bilingual, code="ja")
    language_remove(context=paula_context, project=bilingual, code="en")
    language_remove(context=paula_context, project=bilingual, code="ja")
    assert not bilingual.languages.exists()


def test_progress_counts_translated_and_outdated_texts(bilingual, paula_context):
    translations_upload(
        context=paula_context,
        project=bilingual,
        code="ja",
        data=_file("field-label,sex,,,Sex,性別", f"field-note,sex,,{text_hash('old')},old,旧"),
    )
    progress = {
        p.language.code: (p.items, p.translated, p.outdated) for p in language_progress(bilingual)
    }
    assert progress == {"en": (10, 10, 0), "ja": (10, 2, 1)}


def test_translation_needs_the_design_right(bilingual, site_b_bea):
    with pytest.raises(NotFound):  # not a member: no such project
        translations_set(
            context=AuditContext(actor=site_b_bea),
            project=bilingual,
            code="ja",
            texts={("field-label", "sex", ""): "性別"},
        )
    assert not bilingual.translations.exists()


def test_unknown_keys_are_refused(bilingual, paula_context):
    with pytest.raises(InvalidInput, match="The design has no text field-label / nosuch /"):
        translations_set(
            context=paula_context,
            project=bilingual,
            code="ja",
            texts={("field-label", "nosuch", ""): "x"},
        )


def test_items_are_plain_values():
    assert Item("field-label", "a", "", "A").key == ("field-label", "a", "")
