"""Load a study set-up from a folder of files in the REDCap API's shapes.

The folder holds `dictionary.csv` and, optionally, `instruments.csv`, `arms.csv`,
`events.csv`, `instrument_event_mapping.csv`, `repeating.csv` and `dags.csv`.
`opencrf demo` loads the bilingual demo study shipped in `opencrf/demo/data/` this way;
tests load the shared `salt_rct` study with the same code.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from django.db import transaction

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.models import RevisionSource
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import Project, Purpose
from opencrf.projects.services import (
    EventSpec,
    arms_events_replace,
    event_instruments_set,
    group_create,
    project_create,
    repeat_settings_set,
)

DEMO_FOLDER = Path(__file__).resolve().parent / "data"


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / name
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8-sig")
    return [
        {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))
    ]


def _int(value: str, default: int = 0) -> int:
    return int(value) if value.strip().lstrip("-").isdigit() else default


@transaction.atomic
def load_study(
    folder: Path,
    *,
    context: AuditContext,
    title: str,
    is_longitudinal: bool,
    notes: str = "",
    purpose: int = Purpose.RESEARCH,
    surveys_enabled: bool = False,
) -> Project:
    """Create a project from the files in `folder`, through the ordinary services."""
    project = project_create(
        context=context,
        title=title,
        is_longitudinal=is_longitudinal,
        notes=notes,
        purpose=purpose,
        surveys_enabled=surveys_enabled,
    )
    labels = {r["instrument_name"]: r["instrument_label"] for r in _rows(folder, "instruments.csv")}
    rows = parse_dictionary_csv((folder / "dictionary.csv").read_bytes())
    if is_longitudinal:
        _load_events(folder, context, project)
    dictionary_apply(
        context=context,
        project=project,
        rows=rows,
        source=RevisionSource.DEMO,
        instrument_labels=labels,
    )
    forms = [row.form_name for row in rows]
    events = {event.unique_name: event.pk for event in project.events.all()}
    if is_longitudinal:
        pairs = {
            (events[r["unique_event_name"]], r["form"])
            for r in _rows(folder, "instrument_event_mapping.csv")
        }
        event_instruments_set(
            context=context, project=project, designations=pairs, known_forms=forms
        )
    _load_repeats(folder, context, project, events, forms)
    for group in _rows(folder, "dags.csv"):
        group_create(
            context=context,
            project=project,
            name=group["data_access_group_name"],
            unique_name=group.get("unique_group_name", ""),
        )
    return project


def _load_events(folder: Path, context: AuditContext, project: Project) -> None:
    arms = [(_int(r["arm_num"], 1), r["name"]) for r in _rows(folder, "arms.csv")] or [(1, "Arm 1")]
    specs = [
        EventSpec(
            name=r["event_name"],
            arm_number=_int(r["arm_num"], 1),
            unique_name=r.get("unique_event_name", ""),
            day_offset=_int(r.get("day_offset", "")),
            offset_min=_int(r.get("offset_min", "")),
            offset_max=_int(r.get("offset_max", "")),
            custom_label=r.get("custom_event_label", ""),
        )
        for r in _rows(folder, "events.csv")
    ]
    arms_events_replace(context=context, project=project, arms=arms, events=specs)


def _load_repeats(
    folder: Path, context: AuditContext, project: Project, events: dict[str, int], forms: list[str]
) -> None:
    repeats = _rows(folder, "repeating.csv")
    if not repeats:
        return
    only_event = next(iter(events.values()))
    settings = {
        (events.get(r.get("event_name", ""), only_event), r["form_name"]): r["custom_form_label"]
        for r in repeats
    }
    repeat_settings_set(context=context, project=project, settings=settings, known_forms=forms)


def load_demo(*, owner_username: str | None = None) -> tuple[Project, bool]:
    """Load the demo study unless it is there already; returns (project, created)."""
    meta = json.loads((DEMO_FOLDER / "project.json").read_text(encoding="utf-8"))
    existing = Project.objects.filter(title=meta["title"]).first()
    if existing is not None:
        return existing, False
    owner = None
    if owner_username:
        owner = User.objects.filter(username=owner_username).first()
        if owner is None:
            raise InvalidInput(f"No user named {owner_username!r}")
    context = AuditContext(actor=owner, source="system")
    project = load_study(
        DEMO_FOLDER,
        context=context,
        title=meta["title"],
        is_longitudinal=bool(meta["is_longitudinal"]),
        notes=meta["notes"],
        purpose=Purpose[meta.get("purpose", "research").upper()],
        surveys_enabled=bool(meta.get("surveys_enabled", False)),
    )
    return project, True
