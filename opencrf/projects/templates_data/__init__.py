"""Curated project templates shipped with OpenCRF, as Project XML files (design only).

Each template is one `<name>.xml` here; `TEMPLATES` lists them with their description. The
files are made from their sources by `opencrf/demo/tests/test_templates.py`, which also
checks that the demo template still matches the demo study in `opencrf/demo/data/` (set
OPENCRF_WRITE_TEMPLATES=1 when running it to write them again after changing a source).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Template:
    name: str
    title: Promise
    description: Promise

    @property
    def path(self) -> Path:
        return FOLDER / f"{self.name}.xml"


TEMPLATES = (
    Template(
        "demo_study",
        _("Demo study: a multicentre randomised trial"),
        _(
            "The WALK-DM demo study: longitudinal, three sites, screening to week 52, "
            "a repeating adverse event form and a quality of life survey."
        ),
    ),
    Template(
        "consent_adverse_events",
        _("Consent and adverse events starter"),
        _(
            "A classic project with an e-consent-ready consent form (survey), demographics "
            "and a repeating adverse event form: term, dates, severity, seriousness, "
            "causality and outcome. Labels in Japanese and English."
        ),
    ),
)


def template_by_name(name: str) -> Template | None:
    return next((t for t in TEMPLATES if t.name == name), None)


def template_xml(name: str) -> bytes | None:
    """The template's Project XML, or None for a name that is not a template."""
    template = template_by_name(name)
    return template.path.read_bytes() if template is not None else None
