"""Real REDCap projects (tests/fixtures/redcap-projects), made from their Project XML and
exported to every statistics format: same rows as the CSV, a label for every variable and
value labels for every choice column."""

from __future__ import annotations

import csv
import io
import zipfile

import pyreadstat
import pytest

from conftest import REDCAP_PROJECTS
from opencrf.audit.services import AuditContext
from opencrf.exports.table import ExportRequest, Kind, export_table
from opencrf.exports.tests.conftest import export_bytes
from opencrf.exports.writers.stats import TARGETS, choice_values, short_names
from opencrf.records.project_xml import project_create_from_xml

pytestmark = pytest.mark.django_db

FIXTURES = [
    "potentially-problematic-dictionary",
    "repeating-instruments",
    "russian",  # many value label sets: Stata's set names need room (see short_names)
    "longitudinal",
    "checkboxes-1",
    "nonnumeric-record-id",
]


def _read(tmp_path, data: bytes, format: str):
    path = tmp_path / f"d.{format}"
    if format == "sas":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            path.write_bytes(archive.read("data.xpt"))
        return pyreadstat.read_xport(str(path))
    path.write_bytes(data)
    return (pyreadstat.read_sav if format == "spss" else pyreadstat.read_dta)(str(path))


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_projects_export_to_every_statistics_format(name, pi_paula, tmp_path):
    data = (REDCAP_PROJECTS / name / "project.xml").read_bytes()
    project = project_create_from_xml(context=AuditContext(actor=pi_paula, source="web"), data=data)
    csv_rows = list(csv.reader(io.StringIO(export_bytes(pi_paula, project, "csv").decode())))
    table = export_table(pi_paula, project, ExportRequest())
    choices = [v for v in table.variables if v.kind == Kind.CHOICE]

    for format in ("spss", "stata", "sas"):
        frame, meta = _read(tmp_path, export_bytes(pi_paula, project, format), format)
        names = short_names(table.variables, TARGETS[format], stata=format == "stata")
        assert frame.shape == (len(csv_rows) - 1, len(table.variables)), format
        assert list(frame.columns) == names
        labels = dict(zip(names, meta.column_labels, strict=True))
        for variable, short in zip(table.variables, names, strict=True):
            assert bool(labels[short]) == bool(variable.label), (format, variable.name)
        if format == "sas":
            continue
        for variable in choices:
            short = names[table.variables.index(variable)]
            expected = {int(value): c.label[:60] for c, value in _coded(variable).items()}
            found = {k: v[:60] for k, v in meta.variable_value_labels[short].items()}
            assert found == expected, (format, variable.name)


def _coded(variable):
    values = choice_values(variable)
    return {choice: values[choice.code] for choice in variable.choices}


def test_non_numeric_choice_codes_become_positions_with_their_labels():
    from opencrf.dictionary.choices import Choice
    from opencrf.exports.table import Variable

    variable = Variable(
        "fruit", "Fruit", Kind.CHOICE, choices=(Choice("a", "Apple"), Choice("b", "Banana"))
    )
    assert choice_values(variable) == {"a": 1.0, "b": 2.0}
    numeric = Variable("n", "N", Kind.CHOICE, choices=(Choice("-1", "No"), Choice("99", "Unknown")))
    assert choice_values(numeric) == {"-1": -1.0, "99": 99.0}


def test_long_names_are_shortened_uniquely_per_format():
    from opencrf.exports.table import Variable

    long = "a" * 40
    variables = [
        Variable(f"{long}_x", "", Kind.STRING),
        Variable(f"{long}_y", "", Kind.STRING),
        Variable("in", "", Kind.STRING),
        Variable("b" * 40, "", Kind.CHOICE),
    ]

    assert short_names(variables, TARGETS["stata"], stata=True) == [
        "a" * 32,
        "a" * 30 + "_2",
        "in_",
        "b" * 31,
    ]
    assert short_names(variables, TARGETS["spss"], stata=False) == [
        f"{long}_x",
        f"{long}_y",
        "in",
        "b" * 40,
    ]


def test_stata_names_leave_room_for_the_value_label_sets_number():
    from opencrf.exports.table import Variable

    variables = [Variable(f"{n:02d}" + "c" * 40, "", Kind.CHOICE) for n in range(11)]

    names = short_names(variables, TARGETS["stata"], stata=True)

    assert names[10] == "10" + "c" * 28  # set 10 is named `<name>10`: 32 bytes in all
    assert max(len(name) for name in names) == 30
