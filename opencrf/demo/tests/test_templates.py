"""The shipped project templates match their sources (and are written from them).

OPENCRF_WRITE_TEMPLATES=1 writes the templates' Project XML files again from their sources:
the demo study in opencrf/demo/data/ and the starter's CSV files beside the templates.
"""

from __future__ import annotations

import json
import os

import pytest

from opencrf.demo.loader import DEMO_FOLDER, load_study
from opencrf.dictionary.odm import project_xml_read
from opencrf.projects.models import Purpose
from opencrf.projects.templates_data import FOLDER, TEMPLATES, template_by_name
from opencrf.records.project_xml import project_xml_write

pytestmark = pytest.mark.django_db

STARTER = FOLDER / "consent_adverse_events_source"


def _demo(context):
    meta = json.loads((DEMO_FOLDER / "project.json").read_text(encoding="utf-8"))
    return load_study(
        DEMO_FOLDER,
        context=context,
        title=meta["title"],
        is_longitudinal=meta["is_longitudinal"],
        notes=meta["notes"],
        purpose=Purpose.RESEARCH,
        surveys_enabled=meta["surveys_enabled"],
    )


def _starter(context):
    return load_study(
        STARTER,
        context=context,
        title="同意・有害事象スターター / Consent and adverse events starter",
        is_longitudinal=False,
        notes="",
        surveys_enabled=True,
    )


def _design(data: bytes):
    parsed = project_xml_read(data)
    return (
        parsed.settings,
        parsed.fields,
        parsed.instrument_labels,
        parsed.events,
        parsed.repeats,
        parsed.groups,
        [(s.get("form_name"), s.get("title")) for s in parsed.surveys],
    )


@pytest.mark.parametrize(
    ("name", "build"), [("demo_study", _demo), ("consent_adverse_events", _starter)]
)
def test_the_template_is_its_source_written_as_project_xml(name, build, paula_context, pi_paula):
    project = build(paula_context)
    written = "".join(project_xml_write(project, pi_paula, include_data=False, include_files=False))
    template = template_by_name(name)
    assert template is not None
    if os.environ.get("OPENCRF_WRITE_TEMPLATES") == "1":
        template.path.write_text(written, encoding="utf-8")
    assert _design(template.path.read_bytes()) == _design(written.encode("utf-8"))


def test_every_template_has_its_file():
    assert [t.name for t in TEMPLATES if not t.path.is_file()] == []
