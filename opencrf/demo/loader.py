"""Load a study set-up from a folder of files in the REDCap API's shapes.

The folder holds `dictionary.csv` and, optionally, `instruments.csv`, `arms.csv`,
`events.csv`, `instrument_event_mapping.csv`, `repeating.csv`, `dags.csv` and (for a study
with surveys enabled) `surveys.csv`: the instruments answered as surveys, with their title,
instructions, completion text, "save and return later" (1/0) and language; and
`translations_<code>.csv`, the translation file of each language other than the files' own
(Japanese). `opencrf demo` loads the bilingual demo study shipped in `opencrf/demo/data/` this way;
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
from opencrf.dictionary.translation_services import language_add, translations_upload
from opencrf.projects.models import Event, Project, Purpose
from opencrf.projects.services import (
    EventSpec,
    arms_events_replace,
    event_instruments_set,
    group_create,
    project_create,
    repeat_settings_set,
)
from opencrf.records.models import Record
from opencrf.records.services import form_save, record_create
from opencrf.surveys.services import survey_enable

DEMO_FOLDER = Path(__file__).resolve().parent / "data"
# Display names of the languages a study folder may hold translations for.
_NAMES = {"en": "English", "ja": "日本語"}


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
    if surveys_enabled:
        _load_surveys(folder, context, project)
    _load_translations(folder, context, project)
    return project


def _load_translations(folder: Path, context: AuditContext, project: Project) -> None:
    """Multi-language forms: the files are in Japanese (the base), `translations_<code>.csv`
    holds each other language's texts as the Languages page's translation file does."""
    files = sorted(folder.glob("translations_*.csv"))
    if not files:
        return
    language_add(context=context, project=project, code="ja", display_name="日本語")
    for path in files:
        code = path.stem.removeprefix("translations_")
        language_add(context=context, project=project, code=code, display_name=_NAMES[code])
        translations_upload(context=context, project=project, code=code, data=path.read_bytes())


def _load_surveys(folder: Path, context: AuditContext, project: Project) -> None:
    for row in _rows(folder, "surveys.csv"):
        survey_enable(
            context=context,
            project=project,
            form_name=row["form_name"],
            title=row.get("title", ""),
            instructions=row.get("instructions", ""),
            completion_text=row.get("completion_text", ""),
            save_and_return=row.get("save_and_return", "0") == "1",
            language=row.get("language", "") or "ja",
        )


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


@transaction.atomic
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
    load_demo_records(project, context)
    return project, True


DEMO_SITES = ("toto_univ", "hokurei_med", "setouchi_minato")
RECORDS_PER_SITE = 4
AE_TERMS = ("膝関節痛 / Knee pain", "足底の水疱 / Blister on the sole", "低血糖 / Hypoglycaemia")
WEIGHT_FIX = "体重の転記ミスを修正 / Weight transcribed wrongly"
INITIALS_FIX = "イニシャルの入力誤り / Initials mistyped"
LAB_FIX = "検査報告書で確認 / Checked against the lab report"
DEMO_EDITS = (
    ("1-2", "baseline_arm_1", "baseline", {"weight": "71.8"}, WEIGHT_FIX),
    ("2-1", "screening_arm_1", "enrolment", {"initials": "KM"}, INITIALS_FIX),
    ("3-3", "week_12_arm_1", "visit", {"v_hba1c": "8.4"}, LAB_FIX),
)


def load_demo_records(project: Project, context: AuditContext) -> None:
    """Twelve fictional participants, four per site, entered through the ordinary services.

    The values follow from each participant's number, so every load gives the same data.
    """
    events = {event.unique_name: event for event in project.events.all()}
    groups = {group.unique_name: group for group in project.groups.all()}
    for site, unique_name in enumerate(DEMO_SITES, start=1):
        for number in range(1, RECORDS_PER_SITE + 1):
            group = groups[unique_name]
            record = record_create(
                context=context, project=project, record_id=f"{site}-{number}", group=group
            )
            _enter_participant(
                context, record, events, index=(site - 1) * RECORDS_PER_SITE + number
            )
    for record_id, event, form, values, reason in DEMO_EDITS:
        record = Record.objects.get(project=project, record_id=record_id)
        form_save(
            context=context,
            record=record,
            event=events[event],
            form_name=form,
            values=values,
            base_version=None,
            reason=reason,
        )


def _enter_participant(
    context: AuditContext, record: Record, events: dict[str, Event], *, index: int
) -> None:
    """Enrolment and baseline for everyone; week 12 for the first three of each site."""
    walking = index % 2 == 1
    month = 4 + index % 6
    consent = f"2025-{month:02d}-{10 + index:02d}"
    forms = [
        (
            "screening_arm_1",
            "enrolment",
            1,
            {
                "consent_date": consent,
                "initials": "ABCDEFGHJKMNPRST"[index] + "YTSKMHN"[index % 7],
                "dob": f"{1950 + 2 * index}-{1 + index % 12:02d}-{5 + index:02d}",
                "sex": str(1 + index % 2),
                **{f"incl___{i}": "1" for i in range(1, 6)},
                "excl_any": "0",
                "rand_group": "1" if walking else "2",
                "crf_version": "1.0",
            },
        ),
        (
            "baseline_arm_1",
            "baseline",
            1,
            {
                "bl_date": consent,
                "phone": f"090-{1000 + index * 37:04d}-{2000 + index * 53:04d}",
                "height": f"{150 + index * 2}.{index % 10}",
                "weight": f"{58 + index * 3}.{(index * 3) % 10}",
                "dm_duration": str(1 + index % 9),
                "hba1c": f"{7 + index % 3}.{(index * 7) % 10}",
                "dm_meds___met": "1",
                "dm_meds___su": "1" if index % 4 == 0 else "0",
                "smoking": str(index % 3),
                **({"cig_per_day": str(5 + index)} if index % 3 == 2 else {}),
                "steps_bl": str(3000 + index * 250),
                "motivation": str(40 + index * 4),
                **(
                    {"pedometer_id": f"PD-{index:04d}", "step_target": str(5000 + index * 250)}
                    if walking
                    else {}
                ),
            },
        ),
    ]
    if (index - 1) % RECORDS_PER_SITE < 3:
        forms.append(
            (
                "week_12_arm_1",
                "visit",
                1,
                {
                    "visit_date": f"2025-{month + 3:02d}-{10 + index:02d}",
                    "fasting": "1",
                    "v_weight": f"{57 + index * 3}.{(index * 3) % 10}",
                    "v_hba1c": f"{7 + index % 3 - (1 if walking else 0)}.{(index * 5) % 10}",
                    "avg_steps": str(3000 + index * 250 + (2500 if walking else 300)),
                    **({"adherence": str(1 + index % 3)} if walking else {}),
                    **({"hypo_symptoms": "0"} if index % 4 == 0 else {}),
                    "med_change": "0",
                },
            )
        )
    for instance in range(1, 1 + (index % 4 if index % 3 == 1 else 0)):
        forms.append(
            (
                "week_12_arm_1",
                "adverse_event",
                instance,
                {
                    "ae_term": AE_TERMS[(index + instance) % 3],
                    "ae_onset": f"2025-{month + 2:02d}-{instance * 7:02d}",
                    "ae_severity": "1",
                    "ae_serious": "0",
                    "ae_related": str(1 + instance % 3),
                    "ae_outcome": "1",
                    "ae_end": f"2025-{month + 2:02d}-{instance * 7 + 3:02d}",
                },
            )
        )
    for event, form, instance, values in forms:
        form_save(
            context=context,
            record=record,
            event=events[event],
            form_name=form,
            instance=instance,
            values=values,
            status=2,
            base_version=0,
        )
