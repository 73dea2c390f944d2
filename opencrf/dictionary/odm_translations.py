"""Multi-language forms in Project XML: an OpenCRF extension element of `GlobalVariables`.

REDCap's Project XML does not carry Multi-Language Management, so OpenCRF adds one element, in
its own namespace, as the last OpenCRF-written child of `GlobalVariables` (REDCap ignores
elements it does not know):

    <opencrf:Languages xmlns:opencrf="urn:opencrf:project-xml:1">
        <opencrf:Language code="ja" name="日本語" base="1"/>
        <opencrf:Language code="en" name="English">
            <opencrf:Translation type="field-label" name="age" hash="1a2b3c4d">Age</…>
        </opencrf:Language>
    </opencrf:Languages>

Languages come in their order, the base language (the dictionary's own) first and without
translations. A translation is keyed as the translation file keys it (`translations`: type,
name, index) and `hash` is the digest of the base text it was made from, so an out-of-date
translation stays out of date (an empty `hash` marks one made from an unknown text; without
`hash`, a translation counts as made from today's text). Reading checks the element's shape
here (no database); the keys are checked against the new project's design when it is created
(`translation_services.translations_import`). Any fault refuses the whole file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.dictionary.translation_models import ProjectLanguage
from opencrf.dictionary.translation_selectors import project_items
from opencrf.dictionary.translations import LANGUAGE_CODE, MAX_TEXT, Key
from opencrf.projects.models import Project

OPENCRF_NS = "urn:opencrf:project-xml:1"
MAX_LANGUAGES = 50
_HASH_LENGTH = 16  # Translation.default_hash


def oc(name: str) -> str:
    return f"{{{OPENCRF_NS}}}{name}"


@dataclass(frozen=True, slots=True)
class TranslationSpec:
    kind: str
    name: str
    index: str
    text: str
    # The digest of the base text translated; None when the file gives none (today's text is
    # taken), "" for a translation marked out of date.
    hash: str | None = None

    @property
    def key(self) -> Key:
        return (self.kind, self.name, self.index)


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    code: str
    display_name: str
    is_base: bool = False
    translations: tuple[TranslationSpec, ...] = ()


# --- Writing -----------------------------------------------------------------------------------


def _attr(value: str) -> str:
    return quoteattr(value, {"\r": "&#13;", "\n": "&#10;", "\t": "&#9;"})


def languages_xml(project: Project) -> Iterator[str]:
    """The project's languages and their translations of today's design texts; nothing when
    the project has no language. Translations of texts the design no longer has are left out."""
    languages = list(project.languages.all())
    if not languages:
        return
    order = {item.key: position for position, item in enumerate(project_items(project))}
    found: dict[str, list[tuple[int, str, str, str, str, str]]] = {}
    for code, kind, name, index, text, digest in project.translations.values_list(
        "language", "kind", "name", "index", "text", "default_hash"
    ):
        position = order.get((kind, name, index))
        if position is not None:
            found.setdefault(code, []).append((position, kind, name, index, text, digest))
    yield f"\t<opencrf:Languages xmlns:opencrf={_attr(OPENCRF_NS)}>\n"
    for language in languages:
        head = f"\t\t<opencrf:Language code={_attr(language.code)}"
        head += f" name={_attr(language.display_name)}"
        texts = sorted(found.get(language.code, [])) if not language.is_base else []
        if language.is_base:
            yield head + ' base="1"/>\n'
            continue
        if not texts:
            yield head + "/>\n"
            continue
        yield head + ">\n"
        for _position, kind, name, index, text, digest in texts:
            yield (
                f"\t\t\t<opencrf:Translation type={_attr(kind)} name={_attr(name)}"
                f" index={_attr(index)} hash={_attr(digest)}>"
                f"{escape(text, {chr(13): '&#13;'})}</opencrf:Translation>\n"
            )
        yield "\t\t</opencrf:Language>\n"
    yield "\t</opencrf:Languages>\n"


# --- Reading -----------------------------------------------------------------------------------


def languages_read(globals_: Element) -> list[LanguageSpec]:
    """The languages of the file's `opencrf:Languages`, checked in shape; [] when absent."""
    containers = globals_.findall(oc("Languages"))
    if not containers:
        return []
    if len(containers) > 1:
        raise InvalidInput(_("Project XML: opencrf:Languages appears more than once."))
    children = list(containers[0])
    if len(children) > MAX_LANGUAGES:
        raise InvalidInput(
            _("Project XML: opencrf:Languages lists more than %(limit)d languages.")
            % {"limit": MAX_LANGUAGES}
        )
    languages: list[LanguageSpec] = []
    for child in children:
        if child.tag != oc("Language"):
            raise InvalidInput(
                _("Project XML: opencrf:Languages may hold only opencrf:Language, not %(tag)s.")
                % {"tag": _tag_name(child.tag)}
            )
        languages.append(_language(child))
    codes = [language.code.lower() for language in languages]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise InvalidInput(
            _("Project XML: opencrf:Language “%(code)s” is listed twice.") % {"code": repeated[0]}
        )
    bases = [language.code for language in languages if language.is_base]
    if len(bases) != 1:
        raise InvalidInput(
            _(
                'Project XML: opencrf:Languages must mark exactly one language base="1" '
                "(the language of the data dictionary); it marks %(count)d."
            )
            % {"count": len(bases)}
        )
    return languages


def _tag_name(tag: str) -> str:
    if tag.startswith(f"{{{OPENCRF_NS}}}"):
        return "opencrf:" + tag.split("}", 1)[1]
    return tag.split("}", 1)[-1][:60]


def _language(element: Element) -> LanguageSpec:
    code = element.get("code", "").strip()
    if not LANGUAGE_CODE.match(code):
        raise InvalidInput(
            _(
                "Project XML: opencrf:Language code “%(code)s” is not a language code "
                "(an ISO code such as ja, en or en-US)."
            )
            % {"code": code[:40]}
        )
    name = element.get("name", "").strip()
    max_name = ProjectLanguage._meta.get_field("display_name").max_length or 100
    if not name or len(name) > max_name:
        raise InvalidInput(
            _("Project XML: opencrf:Language “%(code)s” needs a name of 1 to %(limit)d characters.")
            % {"code": code, "limit": max_name}
        )
    base = element.get("base", "0").strip()
    if base not in ("0", "1"):
        raise InvalidInput(
            _("Project XML: opencrf:Language “%(code)s” has base=“%(base)s”; use 1 or 0.")
            % {"code": code, "base": base[:10]}
        )
    translations = tuple(_translation(code, child) for child in element)
    if base == "1" and translations:
        raise InvalidInput(
            _(
                "Project XML: opencrf:Language “%(code)s” is the base language: its texts are "
                "the data dictionary's own and it holds no opencrf:Translation."
            )
            % {"code": code}
        )
    keys = [translation.key for translation in translations]
    if len(set(keys)) != len(keys):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise InvalidInput(
            _("Project XML: opencrf:Language “%(code)s” translates %(key)s twice.")
            % {"code": code, "key": " / ".join(twice)}
        )
    return LanguageSpec(code, name, base == "1", translations)


def _translation(code: str, element: Element) -> TranslationSpec:
    where = _("opencrf:Language “%(code)s”") % {"code": code}
    if element.tag != oc("Translation"):
        raise InvalidInput(
            _("Project XML: %(where)s may hold only opencrf:Translation, not %(tag)s.")
            % {"where": where, "tag": _tag_name(element.tag)}
        )
    kind, name = element.get("type", "").strip(), element.get("name", "").strip()
    index, given = element.get("index", "").strip(), element.get("hash")
    digest = None if given is None else given.strip()
    if not kind or not name:
        raise InvalidInput(
            _("Project XML: an opencrf:Translation of %(where)s lacks its type or name.")
            % {"where": where}
        )
    if len(list(element)):
        raise InvalidInput(
            _("Project XML: opencrf:Translation %(key)s of %(where)s holds elements; give text.")
            % {"key": f"{kind} / {name}", "where": where}
        )
    text = (element.text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(
            _(
                "Project XML: opencrf:Translation %(key)s of %(where)s must hold a text of 1 to "
                "%(limit)d characters."
            )
            % {"key": f"{kind} / {name}", "where": where, "limit": MAX_TEXT}
        )
    if len(digest or "") > _HASH_LENGTH or len(kind) > 32 or len(name) > 100 or len(index) > 100:
        raise InvalidInput(
            _("Project XML: opencrf:Translation %(key)s of %(where)s has an overlong attribute.")
            % {"key": f"{kind[:32]} / {name[:100]}", "where": where}
        )
    return TranslationSpec(kind, name, index, text, digest)
