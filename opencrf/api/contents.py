"""What each `content` returns (spec §2). Handlers read through selectors and write through
services, like the web pages; rights follow the token's user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.http.response import HttpResponseBase

from opencrf.api import design as design_imports
from opencrf.api import files, logs, pdf, people, projects, quality_rules, repository, surveys
from opencrf.api import records as record_contents
from opencrf.api import reports as report_contents
from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import plain_response, table_response
from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import API_COLUMNS
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.models import DataAccessGroup, Project
from opencrf.records.selectors import next_record_id

# The REDCap version the API speaks: clients branch on it (spec §2.15), so every structure
# below is the one REDCap 16.0.0 returns (the newest structures the clients' tests know:
# users' `data_access_group_label`, role mappings' `data_access_group`, form rights as bits
# over 128). OpenCRF's own version is shown on its pages.
REDCAP_VERSION = "16.0.0"
NO_EXPORT_IN_FIELD = frozenset({"file", "descriptive"})


@dataclass(frozen=True)
class Handler:
    run: Callable[[Call], HttpResponseBase]
    super_token: bool = False  # may be called with a super token (no project)


def _project(call: Call) -> Project:
    assert call.project is not None  # the view refuses project contents without a project
    return call.project


def _design(call: Call) -> ProjectDesign:
    """The design, for reading: needs the API export right."""
    call.require_export()
    return design_of(_project(call))


def version(call: Call) -> HttpResponseBase:
    return plain_response(REDCAP_VERSION)


def metadata(call: Call) -> HttpResponseBase:
    if call.has_data():
        return design_imports.metadata_import(call)
    design = _design(call)
    fields = set(call.params.items("fields"))
    forms = set(call.params.items("forms"))
    known = {row.field_name for row in design.rows}
    unknown = [name for name in call.params.items("fields") if name not in known]
    if unknown:
        raise _invalid_values("fields", unknown)
    rows = [
        row.as_dict()
        for row in design.rows
        if (not fields and not forms) or row.field_name in fields or row.form_name in forms
    ]
    return table_response(call.format, API_COLUMNS, rows, root="records")


def _invalid_values(parameter: str, values: list[str]) -> ApiError:
    listed = ", ".join(f"'{value}'" for value in values)
    return ApiError(f'The following values in the parameter "{parameter}" are not valid: {listed}')


def field_names(call: Call) -> HttpResponseBase:
    design = _design(call)
    wanted = call.params.text("field")
    if wanted and wanted not in {row.field_name for row in design.rows}:
        raise _invalid_values("field", [wanted])
    rows = [row for row in _field_name_rows(design) if not wanted or row[0] == wanted]
    header = ("original_field_name", "choice_value", "export_field_name")
    return table_response(
        call.format, header, (dict(zip(header, row, strict=True)) for row in rows)
    )


def _field_name_rows(design: ProjectDesign) -> Iterator[tuple[str, str, str]]:
    """(original name, choice code, export name), with `<form>_complete` after each form."""
    for index, row in enumerate(design.rows):
        if row.field_type == "checkbox":
            for choice in parse_choices(row.select_choices_or_calculations):
                yield row.field_name, choice.code, checkbox_column(row.field_name, choice.code)
        elif row.field_type not in NO_EXPORT_IN_FIELD:
            yield row.field_name, "", row.field_name
        following = design.rows[index + 1] if index + 1 < len(design.rows) else None
        if following is None or following.form_name != row.form_name:
            complete = f"{row.form_name}_complete"
            yield complete, "", complete


def instruments(call: Call) -> HttpResponseBase:
    header = ("instrument_name", "instrument_label")
    rows = [
        {"instrument_name": i.name, "instrument_label": i.label} for i in _design(call).instruments
    ]
    return table_response(call.format, header, rows, root="records")


def _longitudinal(call: Call, what: str) -> ProjectDesign:
    if not _project(call).is_longitudinal:
        raise ApiError(f"You cannot export {what} for classic projects")
    return _design(call)


def _arm_filter(call: Call) -> set[int] | None:
    numbers = call.params.items("arms")
    if not numbers:
        return None
    if not all(number.isascii() and number.isdigit() for number in numbers):
        raise ApiError('The value of the parameter "arms" is not valid')
    return {int(number) for number in numbers}


def form_event_mapping(call: Call) -> HttpResponseBase:
    if call.has_data():
        return design_imports.mapping_import(call)
    design = _longitudinal(call, "form/event mappings")
    arms = _arm_filter(call)
    rows = [
        {"arm_num": event.arm.number, "unique_event_name": event.unique_name, "form": form.name}
        for event in design.events
        if arms is None or event.arm.number in arms
        for form in design.instruments
        if design.has_form(_project(call), event, form.name)
    ]
    return table_response(call.format, ("arm_num", "unique_event_name", "form"), rows)


def arms(call: Call) -> HttpResponseBase:
    if call.action == "delete":
        return design_imports.arms_delete(call)
    if call.has_data():
        return design_imports.arms_import(call)
    design = _longitudinal(call, "arms")
    wanted = _arm_filter(call)
    seen: dict[int, str] = {}
    for event in design.events:
        if wanted is None or event.arm.number in wanted:
            seen.setdefault(event.arm.number, event.arm.name)
    rows = [{"arm_num": number, "name": name} for number, name in sorted(seen.items())]
    return table_response(call.format, ("arm_num", "name"), rows)


def events(call: Call) -> HttpResponseBase:
    if call.action == "delete":
        return design_imports.events_delete(call)
    if call.has_data():
        return design_imports.events_import(call)
    design = _longitudinal(call, "events")
    wanted = _arm_filter(call)
    header = ("event_name", "arm_num", "unique_event_name", "custom_event_label", "event_id")
    rows = [
        {
            "event_name": event.name,
            "arm_num": event.arm.number,
            "unique_event_name": event.unique_name,
            "custom_event_label": event.custom_label,
            "event_id": event.pk,
        }
        for event in design.events
        if wanted is None or event.arm.number in wanted
    ]
    return table_response(call.format, header, rows)


def repeating_forms_events(call: Call) -> HttpResponseBase:
    if call.has_data():
        return design_imports.repeats_import(call)
    design = _design(call)
    longitudinal = _project(call).is_longitudinal
    names = {event.pk: event.unique_name for event in design.events}
    order = {event.pk: n for n, event in enumerate(design.events)}
    forms = {instrument.name: n for n, instrument in enumerate(design.instruments)}
    rows = []
    for (event_id, form), label in sorted(
        design.repeats.items(), key=lambda item: (order[item[0][0]], forms.get(item[0][1], -1))
    ):
        row = {"form_name": form, "custom_form_label": label}
        rows.append({"event_name": names[event_id], **row} if longitudinal else row)
    header = ("event_name", "form_name", "custom_form_label")
    return table_response(call.format, header if longitudinal else header[1:], rows)


def next_record_name(call: Call) -> HttpResponseBase:
    call.require_export()
    group_id = call.rights.group_id
    group = DataAccessGroup.objects.filter(pk=group_id).first() if group_id else None
    return plain_response(next_record_id(_project(call), group))


def _not_enabled(message: str) -> Callable[[Call], HttpResponseBase]:
    """A feature OpenCRF does not offer yet: REDCap's refusal for a project without it."""

    def refuse(call: Call) -> HttpResponseBase:
        call.require_export()
        raise ApiError(message)

    return refuse


HANDLERS: dict[str, Handler] = {
    # OpenCRF's extension (docs/subsystems/api.md): data quality rules.
    "dataQualityRules": Handler(quality_rules.rules_list),
    "dataQualityRun": Handler(quality_rules.rules_run),
    "dataQualityResults": Handler(quality_rules.results),
    "version": Handler(version, super_token=True),
    "project": Handler(projects.project, super_token=True),
    "project_xml": Handler(projects.project_xml),
    "project_settings": Handler(projects.project_settings),
    "metadata": Handler(metadata),
    "exportFieldNames": Handler(field_names),
    "instrument": Handler(instruments),
    "formEventMapping": Handler(form_event_mapping),
    "arm": Handler(arms),
    "event": Handler(events),
    "repeatingFormsEvents": Handler(repeating_forms_events),
    "generateNextRecordName": Handler(next_record_name),
    "record": Handler(record_contents.record),
    "file": Handler(files.file),
    "log": Handler(logs.log),
    "pdf": Handler(pdf.pdf),
    "fileRepository": Handler(repository.repository),
    "user": Handler(people.users),
    "userRole": Handler(people.roles),
    "userRoleMapping": Handler(people.role_mapping),
    "dag": Handler(people.dags),
    "userDagMapping": Handler(people.dag_mapping),
    "report": Handler(report_contents.report),
    "surveyLink": Handler(surveys.survey_link),
    "surveyQueueLink": Handler(surveys.survey_queue_link),
    "surveyAccessCode": Handler(surveys.survey_access_code),
    "surveyReturnCode": Handler(surveys.survey_return_code),
    "participantList": Handler(surveys.participant_list),
    "randomization": Handler(_not_enabled("Randomization is not enabled in this project")),
}
