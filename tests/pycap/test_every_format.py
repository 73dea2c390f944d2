"""Every export PyCap offers, in each of its four forms (json, csv, xml, DataFrame), on a classic
and a longitudinal project made by super token from Project XML: the four agree on what they
hold, and a classic project refuses arms, events and mappings in each of them as REDCap does."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from redcap import Project, RedcapError

from conftest import REDCAP_PROJECTS
from tests.pycap.conftest import create_project_from_xml

TITLE = "PyCap in every format"
# PyCap's export methods that take `format_type`, with the keyword arguments they need here.
EXPORTS = {
    "export_arms": {},
    "export_dags": {},
    "export_events": {},
    "export_field_names": {},
    "export_instrument_event_mappings": {},
    "export_instruments": {},
    "export_logging": {},
    "export_metadata": {},
    "export_project_info": {},
    "export_records": {},
    "export_repeating_instruments_events": {},
    "export_user_dag_assignment": {},
    "export_user_role_assignment": {},
    "export_user_roles": {},
    "export_users": {},
}
# Without a DataFrame form in PyCap.
EXPORTS_NO_FRAME = {"export_file_repository": {}}


# What a classic project has not: REDCap answers these with an error in every format.
LONGITUDINAL_ONLY = {
    "export_arms": "arms",
    "export_events": "events",
    "export_instrument_event_mappings": "form/event mappings",
}


def _made(api_server, fixture: str) -> Project:
    odm = (REDCAP_PROJECTS / fixture / "project.xml").read_text(encoding="utf-8")
    made = Project(api_server[0], create_project_from_xml(api_server, f"{TITLE} {fixture}", odm))
    made.import_dags([{"data_access_group_name": "Site A", "unique_group_name": ""}])
    made.import_user_roles([{"role_label": "Monitor"}])
    made.create_folder_in_repository("Protocols")
    return made


@pytest.fixture(scope="module")
def classic(api_server) -> Project:
    return _made(api_server, "repeating-instruments")  # repeats an instrument already


@pytest.fixture(scope="module")
def longitudinal(api_server) -> Project:
    made = _made(api_server, "longitudinal")
    made.import_repeating_instruments_events(
        [{"event_name": "visit_1_arm_1", "form_name": "visit_lab_data", "custom_form_label": ""}]
    )
    return made


# (project, export) pairs: every export on the longitudinal project, all but the
# longitudinal-only ones on the classic project.
CASES = [("longitudinal", name) for name in sorted(EXPORTS)] + [
    ("classic", name) for name in sorted(EXPORTS) if name not in LONGITUDINAL_ONLY
]


def _count(method, fmt: str, kwargs) -> int:
    result = method(format_type=fmt, **kwargs)
    if fmt == "json":
        return len(result) if isinstance(result, list) else 1
    if fmt == "csv":
        return len(list(csv.DictReader(io.StringIO(result))))
    if fmt == "xml":
        assert result.startswith("<?xml")
        return len(re.findall(r"<item>", result))
    assert isinstance(result, pd.DataFrame)
    return len(result)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_json_csv_xml_and_dataframe_hold_the_same_rows(request, kind, name):
    method = getattr(request.getfixturevalue(kind), name)
    kwargs = EXPORTS[name]

    counts = {fmt: _count(method, fmt, kwargs) for fmt in ("json", "csv", "xml", "df")}

    assert counts["json"] > 0, f"{name} exported nothing"
    assert counts == dict.fromkeys(counts, counts["json"]), counts


@pytest.mark.parametrize("kind", ["classic", "longitudinal"])
@pytest.mark.parametrize("name", sorted(EXPORTS_NO_FRAME))
def test_json_csv_and_xml_hold_the_same_rows(request, kind, name):
    method = getattr(request.getfixturevalue(kind), name)

    # PyCap decodes this content by `return_format_type` (json by default), so a csv or xml
    # listing needs both set, with REDCap as with OpenCRF.
    counts = {
        fmt: _count(method, fmt, {"return_format_type": fmt}) for fmt in ("json", "csv", "xml")
    }

    assert counts == {"json": 1, "csv": 1, "xml": 1}


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_csv_headers_are_the_json_keys(request, kind, name):
    method = getattr(request.getfixturevalue(kind), name)
    kwargs = EXPORTS[name]
    as_json = method(format_type="json", **kwargs)
    as_csv = method(format_type="csv", **kwargs)

    first = as_json[0] if isinstance(as_json, list) else as_json
    header = next(csv.reader(io.StringIO(as_csv)))
    assert header == list(first)


@pytest.mark.parametrize("kind", ["classic", "longitudinal"])
@pytest.mark.parametrize("fmt", ["json", "csv", "xml", "df"])
def test_an_unknown_report_and_surveys_not_enabled_refuse_in_every_format(request, kind, fmt):
    project = request.getfixturevalue(kind)
    with pytest.raises(RedcapError, match="report_id"):
        project.export_report("987654321", format_type=fmt)
    with pytest.raises(RedcapError, match="Surveys have not been enabled"):
        project.export_survey_participant_list("enrollment", format_type=fmt)


@pytest.mark.parametrize("fmt", ["json", "csv", "xml", "df"])
@pytest.mark.parametrize("name", sorted(LONGITUDINAL_ONLY))
def test_a_classic_project_refuses_arms_events_and_mappings_in_every_format(classic, name, fmt):
    method = getattr(classic, name)

    with pytest.raises(RedcapError) as refused:
        method(format_type=fmt)

    assert f"You cannot export {LONGITUDINAL_ONLY[name]} for classic projects" in str(refused.value)
