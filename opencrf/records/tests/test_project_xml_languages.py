"""Multi-language forms travel in Project XML as OpenCRF's `opencrf:Languages` extension."""

from __future__ import annotations

from pathlib import Path

import pytest

import opencrf.demo.data
from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.demo.loader import load_study
from opencrf.dictionary.odm import project_xml_read
from opencrf.dictionary.odm_translations import LanguageSpec, TranslationSpec
from opencrf.dictionary.services import dictionary_apply
from opencrf.dictionary.tests.test_translations import ROWS
from opencrf.dictionary.translation_models import Translation
from opencrf.dictionary.translation_services import language_add, translations_set
from opencrf.dictionary.translations import text_hash
from opencrf.projects.models import Project
from opencrf.records.project_xml import project_create_from_xml, project_xml_write

pytestmark = pytest.mark.django_db

DEMO = Path(opencrf.demo.data.__file__).parent
HOSTILE = 'Sex <b>"&amp;"</b> ]]> <script>alert(1)</script>\n二行目'


def _written(project, user) -> str:
    return "".join(project_xml_write(project, user, include_data=False, include_files=False))


def _languages(project):
    return list(project.languages.values_list("code", "display_name", "is_base", "position"))


def _translations(project):
    return sorted(
        project.translations.values_list(
            "language", "kind", "name", "index", "text", "default_hash"
        )
    )


@pytest.fixture
def bilingual(paula_context, classic_project):
    """A small project in English with Japanese translations, one of them out of date."""
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    language_add(context=paula_context, project=classic_project, code="en", display_name="English")
    language_add(context=paula_context, project=classic_project, code="ja", display_name="日本語")
    translations_set(
        context=paula_context,
        project=classic_project,
        code="ja",
        texts={
            ("form-name", "enrolment", ""): "登録",
            ("field-label", "sex", ""): HOSTILE,
            ("field-enum", "sex", "2"): "女性",
            ("field-slider", "pain", "right"): "最悪",
        },
    )
    Translation.objects.filter(project=classic_project, kind="field-enum").update(default_hash="")
    return classic_project


def test_languages_and_translations_survive_the_round_trip(bilingual, paula_context, pi_paula):
    text = _written(bilingual, pi_paula)

    copy = project_create_from_xml(context=paula_context, data=text.encode())

    assert _languages(copy) == [("en", "English", True, 0), ("ja", "日本語", False, 1)]
    assert [row[1:] for row in _translations(copy)] == [row[1:] for row in _translations(bilingual)]
    assert ("ja", "field-label", "sex", "", HOSTILE, text_hash("Sex")) in _translations(copy)
    # The out-of-date choice stays out of date; the others are up to date.
    assert ("ja", "field-enum", "sex", "2", "女性", "") in _translations(copy)
    imported = AuditEvent.objects.get(project_id=copy.pk, action="translation.import")
    assert imported.changes == {"languages": ["en", "ja"], "translations": 4}


def test_the_extension_element_is_written_as_documented(bilingual, pi_paula):
    text = _written(bilingual, pi_paula)
    start = text.index("\t<opencrf:Languages")
    block = text[start : text.index("</opencrf:Languages>") + len("</opencrf:Languages>")]
    sex = text_hash("Sex")
    assert block == (
        '\t<opencrf:Languages xmlns:opencrf="urn:opencrf:project-xml:1">\n'
        '\t\t<opencrf:Language code="en" name="English" base="1"/>\n'
        '\t\t<opencrf:Language code="ja" name="日本語">\n'
        '\t\t\t<opencrf:Translation type="form-name" name="enrolment" index="" hash="'
        f'{text_hash("Enrolment")}">登録</opencrf:Translation>\n'
        f'\t\t\t<opencrf:Translation type="field-label" name="sex" index="" hash="{sex}">'
        'Sex &lt;b&gt;"&amp;amp;"&lt;/b&gt; ]]&gt; &lt;script&gt;alert(1)&lt;/script&gt;\n'
        "二行目</opencrf:Translation>\n"
        '\t\t\t<opencrf:Translation type="field-enum" name="sex" index="2" hash="">女性'
        "</opencrf:Translation>\n"
        '\t\t\t<opencrf:Translation type="field-slider" name="pain" index="right" hash="'
        f'{text_hash("Worst")}">最悪</opencrf:Translation>\n'
        "\t\t</opencrf:Language>\n"
        "\t</opencrf:Languages>"
    )
    assert text.index("</opencrf:Languages>") < text.index("</GlobalVariables>")


def test_a_project_without_languages_writes_no_extension(paula_context, classic_project, pi_paula):
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    assert "opencrf" not in _written(classic_project, pi_paula).replace("SourceSystem", "")
    assert project_xml_read(_written(classic_project, pi_paula).encode()).languages == []


def test_translations_of_texts_the_design_dropped_are_left_out(bilingual, paula_context, pi_paula):
    dictionary_apply(
        context=paula_context,
        project=bilingual,
        rows=[row for row in ROWS if row.field_name != "pain"],
        source="upload",
    )
    parsed = project_xml_read(_written(bilingual, pi_paula).encode())
    assert [t.key for t in parsed.languages[1].translations] == [
        ("form-name", "enrolment", ""),
        ("field-label", "sex", ""),
        ("field-enum", "sex", "2"),
    ]


def test_the_demo_study_carries_its_survey_translations(paula_context, pi_paula):
    demo = load_study(
        DEMO, context=paula_context, title="Demo", is_longitudinal=True, surveys_enabled=True
    )
    survey_kinds = {kind for _l, kind, *_r in _translations(demo) if kind.startswith("survey")}
    assert survey_kinds  # the demo translates its survey's title, instructions and ending

    copy = project_create_from_xml(context=paula_context, data=_written(demo, pi_paula).encode())

    assert _languages(copy) == _languages(demo)
    assert _translations(copy) == _translations(demo)


# --- Hostile files -----------------------------------------------------------------------------


def _with_languages(text: str, block: str) -> bytes:
    start = text.index("\t<opencrf:Languages")
    end = text.index("</opencrf:Languages>") + len("</opencrf:Languages>")
    return (text[:start] + block + text[end:]).encode()


def _block(*languages: str) -> str:
    return (
        '<opencrf:Languages xmlns:opencrf="urn:opencrf:project-xml:1">'
        + "".join(languages)
        + ("</opencrf:Languages>")
    )


BASE = '<opencrf:Language code="en" name="English" base="1"/>'


def _ja(*translations: str) -> str:
    return (
        '<opencrf:Language code="ja" name="日本語">'
        + "".join(translations)
        + ("</opencrf:Language>")
    )


def _t(kind="field-label", name="sex", index="", text="性別", extra="") -> str:
    return (
        f'<opencrf:Translation type="{kind}" name="{name}" index="{index}"{extra}>{text}'
        "</opencrf:Translation>"
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            _block(BASE, _ja(_t(name="no_such_field"))),
            "Project XML: opencrf:Language “ja”: The design has no field-label text for "
            "“no_such_field”.",
        ),
        (
            _block(BASE, _ja(_t(kind="field-enum", index="9"))),
            "Project XML: opencrf:Language “ja”: “sex” has no field-enum text with index “9”.",
        ),
        (
            _block(BASE, _ja(_t(kind="field-label'); DROP TABLE x; --"))),
            "Project XML: opencrf:Language “ja”: Unknown type “field-label'); DROP TABLE x; --”; "
            "the design has field-enum, field-header, field-label, field-note, field-slider, "
            "form-name.",
        ),
        (
            _block(BASE, '<opencrf:Language name="日本語"/>'),
            "Project XML: opencrf:Language code “” is not a language code (an ISO code such as "
            "ja, en or en-US).",
        ),
        (
            _block(BASE, '<opencrf:Language code="ja" name="日本語" base="1"/>'),
            'Project XML: opencrf:Languages must mark exactly one language base="1" (the '
            "language of the data dictionary); it marks 2.",
        ),
        (
            _block(_ja(_t())),
            'Project XML: opencrf:Languages must mark exactly one language base="1" (the '
            "language of the data dictionary); it marks 0.",
        ),
        (
            _block(BASE, _ja(_t(), _t(text="二度目"))),
            "Project XML: opencrf:Language “ja” translates field-label / sex /  twice.",
        ),
        (
            _block(BASE, _ja(_t(text="<b>性別</b>"))),
            "Project XML: opencrf:Translation field-label / sex of opencrf:Language “ja” holds "
            "elements; give text.",
        ),
        (
            _block(BASE, _ja('<opencrf:Translation name="sex">性別</opencrf:Translation>')),
            "Project XML: an opencrf:Translation of opencrf:Language “ja” lacks its type or name.",
        ),
        (
            _block(BASE, _ja(_t(text=""))),
            "Project XML: opencrf:Translation field-label / sex of opencrf:Language “ja” must "
            "hold a text of 1 to 20000 characters.",
        ),
        (
            _block(BASE, _ja("<Item/>")),
            "Project XML: opencrf:Language “ja” may hold only opencrf:Translation, not Item.",
        ),
        (
            _block(BASE, '<opencrf:Language code="en" name="again"/>'),
            "Project XML: opencrf:Language “en” is listed twice.",
        ),
        (
            _block(
                '<opencrf:Language code="en" name="English" base="1">'
                + _t()
                + "</opencrf:Language>"
            ),
            "Project XML: opencrf:Language “en” is the base language: its texts are the data "
            "dictionary's own and it holds no opencrf:Translation.",
        ),
        (
            _block(BASE, '<opencrf:Language code="ja" name="日本語" base="yes"/>'),
            "Project XML: opencrf:Language “ja” has base=“yes”; use 1 or 0.",
        ),
        (
            _block(BASE, _ja(_t(extra=' hash="' + "f" * 17 + '"'))),
            "Project XML: opencrf:Translation field-label / sex of opencrf:Language “ja” has an "
            "overlong attribute.",
        ),
        (
            _block(BASE) + _block(BASE),
            "Project XML: opencrf:Languages appears more than once.",
        ),
    ],
)
def test_a_faulty_languages_element_refuses_the_file_and_creates_nothing(
    bilingual, paula_context, pi_paula, block, message
):
    data = _with_languages(_written(bilingual, pi_paula), block)
    projects = Project.objects.count()
    translations = Translation.objects.count()

    with pytest.raises(InvalidInput) as refusal:
        project_create_from_xml(context=paula_context, data=data)

    assert refusal.value.message == message
    assert (Project.objects.count(), Translation.objects.count()) == (projects, translations)


def test_the_reader_gives_language_specs(bilingual, pi_paula):
    parsed = project_xml_read(_written(bilingual, pi_paula).encode())
    assert parsed.languages[0] == LanguageSpec("en", "English", True, ())
    assert parsed.languages[1].translations[2] == TranslationSpec(
        "field-enum", "sex", "2", "女性", ""
    )
