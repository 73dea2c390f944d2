"""The translation catalogues: complete, consistent with their .mo files and with the sources.

Both catalogues are complete: `ja` is the Japanese interface, `en` repeats every English
source string, so neither language ever falls back silently. `make messages` refreshes them.
"""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.urls import reverse

import opencrf

PACKAGE = Path(opencrf.__file__).resolve().parent
LOCALE = PACKAGE / "locale"
LANGUAGES = ["ja", "en"]
PLURAL_FORMS = {"ja": "nplurals=1; plural=0;", "en": "nplurals=2; plural=(n != 1);"}
# The same ignores as `make messages` (the copy below holds only the package).
MESSAGE_IGNORES = [".venv", "var", "build", "dist", "tests", "bench", "node_modules"]

# printf-style conversions, named or not; "%%" is a literal percent sign, not a placeholder.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def placeholders(text: str) -> list[str]:
    return sorted(p for p in _PLACEHOLDER.findall(text) if p != "%%")


def translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def keys(po: polib.POFile) -> set[tuple[str, str, str]]:
    return {(e.msgctxt or "", e.msgid, e.msgid_plural) for e in po if not e.obsolete}


def mo_catalogue(path: Path) -> dict[object, str]:
    with path.open("rb") as handle:
        translation = gettext.GNUTranslations(handle)
    entries = dict(translation._catalog)  # type: ignore[attr-defined]
    entries.pop("", None)  # the header: dates and tool names may differ
    return entries


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_of_the_catalogue_is_translated(language):
    po = catalogue(language)
    untranslated = [e.msgid for e in po if not all(translations(e))]
    assert len(po) > 0
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_holds_no_fuzzy_or_obsolete_entries(language):
    po = catalogue(language)
    assert po.fuzzy_entries() == []
    assert po.obsolete_entries() == []
    assert not po.metadata_is_fuzzy


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_header_names_its_language_charset_and_plural_rule(language):
    metadata = catalogue(language).metadata
    assert metadata["Project-Id-Version"] == "OpenCRF"
    assert metadata["Language"] == language
    assert metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert metadata["Plural-Forms"] == PLURAL_FORMS[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_entries_have_one_translation_per_plural_form(language):
    nplurals = {"ja": 1, "en": 2}[language]
    wrong = [
        e.msgid for e in catalogue(language) if e.msgid_plural and len(e.msgstr_plural) != nplurals
    ]
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders_of_its_source(language):
    mismatched = []
    for entry in catalogue(language):
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        expected = {tuple(placeholders(source)) for source in sources}
        for text in translations(entry):
            if tuple(placeholders(text)) not in expected:
                mismatched.append((entry.msgid, text))
    assert mismatched == []


def test_the_english_catalogue_repeats_the_source_strings():
    for entry in catalogue("en"):
        if entry.msgid_plural:
            assert entry.msgstr_plural == {0: entry.msgid, 1: entry.msgid_plural}
        else:
            assert entry.msgstr == entry.msgid


def test_both_catalogues_hold_the_same_messages():
    assert keys(catalogue("ja")) == keys(catalogue("en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_file_matches_its_po_file(language, tmp_path):
    compiled = tmp_path / "django.mo"
    catalogue(language).save_as_mofile(str(compiled))
    committed = LOCALE / language / "LC_MESSAGES" / "django.mo"
    assert committed.is_file()
    assert mo_catalogue(committed) == mo_catalogue(compiled)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (make gettext)")
def test_the_catalogues_hold_exactly_the_messages_of_the_sources(tmp_path, monkeypatch, settings):
    copy = tmp_path / "opencrf"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "tests", "__pycache__", "static")
    )
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(tmp_path)

    call_command(
        "makemessages",
        locale=["ja"],
        keep_pot=True,
        ignore_patterns=MESSAGE_IGNORES,
        verbosity=0,
    )

    extracted = keys(polib.pofile(str(copy / "locale" / "django.pot")))
    assert keys(catalogue("ja")) == extracted, "run `make messages` and translate the new entries"


@pytest.mark.django_db
def test_the_login_page_is_in_japanese_for_a_japanese_browser(client):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "<title>ログイン · OpenCRF</title>" in page
    assert "ユーザー名" in page
    assert "パスワード" in page
    assert "Log in" not in page


@pytest.mark.django_db
def test_my_projects_is_in_japanese_for_a_japanese_browser(client, django_user_model):
    user = django_user_model.objects.create_user(username="tanaka", password="correct horse")
    client.force_login(user)
    page = client.get(reverse("projects:list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "<title>マイプロジェクト · OpenCRF</title>" in page
    assert "新規プロジェクト" in page
    assert "ログアウト" in page
    assert "まだプロジェクトがありません。" in page
    assert "My Projects" not in page


@pytest.mark.django_db
def test_a_project_home_shows_its_status_and_counts_in_japanese(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    url = reverse("projects:home", args=[classic_project.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "開発中" in page
    assert "クラシック" in page
    assert "データディクショナリ全0版" in page
    assert "プロジェクトホーム" in page
    assert "Development" not in page


@pytest.mark.django_db
def test_the_english_interface_stays_english(client, django_user_model):
    user = django_user_model.objects.create_user(username="smith", password="correct horse")
    client.force_login(user)
    page = client.get(reverse("projects:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<title>My Projects · OpenCRF</title>" in page
    assert "マイプロジェクト" not in page
