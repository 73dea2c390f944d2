"""`opencrf audit verify`: one line per chain, exit 1 when a chain is broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection, transaction

from opencrf import cli
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import audit_event_create
from tests.test_cli import run, shown

HEAD = re.compile(r"head [0-9a-f]{12}…$")


def _append(context, project_id, count):
    for _ in range(count):
        with transaction.atomic():
            audit_event_create(context=context, project_id=project_id, action="test.action")


def _tamper(project_id, sequence):
    """Change one entry behind the triggers' back; rolled back with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_change"
            )
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_no_update")
        cursor.execute(
            "UPDATE audit_auditevent SET reason = %s WHERE project_id = %s AND sequence = %s",
            ["rewritten", project_id, sequence],
        )


def test_help_of_audit_verify_exits_0_and_prints_its_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "verify", "--help"])
    assert exit_info.value.code == 0
    output = capsys.readouterr()
    assert output.out.startswith("usage: opencrf audit verify [-h] [--project ID]")
    assert output.err == ""


def test_audit_without_a_task_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit"])
    assert exit_info.value.code == 2
    assert "usage: opencrf audit" in capsys.readouterr().err


@pytest.mark.django_db
def test_verify_prints_one_ok_line_per_chain(paula_context, capsys):
    _append(paula_context, 0, 1)
    _append(paula_context, 3, 2)
    head = AuditEvent.objects.filter(project_id=3).last()

    assert cli.main(["audit", "verify"]) == 0

    output = capsys.readouterr()
    assert output.out.splitlines() == [
        f"ok   system chain: 1 entry, head {AuditEvent.objects.get(project_id=0).hash[:12]}…",
        f"ok   project 3: 2 entries, head {head.hash[:12]}…",
    ]
    assert output.err == ""


@pytest.mark.django_db
def test_verify_names_the_broken_entry_and_exits_1(paula_context, capsys):
    _append(paula_context, 3, 3)
    _append(paula_context, 4, 6)
    _tamper(4, 5)

    assert cli.main(["audit", "verify"]) == 1

    output = capsys.readouterr()
    lines = output.out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ok   project 3: 3 entries, ")
    assert lines[1] == "FAIL project 4: entry 5 was changed: its hash does not match its content"
    assert output.err == "opencrf audit: 1 of 2 audit chain(s) broken\n"


@pytest.mark.django_db
def test_verify_of_one_project_checks_only_that_chain(paula_context, capsys):
    _append(paula_context, 3, 2)
    _append(paula_context, 4, 2)
    _tamper(4, 1)

    assert cli.main(["audit", "verify", "--project", "3"]) == 0

    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("ok   project 3: 2 entries, ")
    assert HEAD.search(line)


@pytest.mark.django_db
def test_verify_of_a_project_without_entries_fails_in_one_line(capsys):
    assert cli.main(["audit", "verify", "--project", "42"]) == 1

    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == "opencrf audit: project 42 has no audit entries\n"


@pytest.mark.django_db
def test_verify_of_an_empty_trail_says_so(capsys):
    assert cli.main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == "The audit trail is empty.\n"


def test_verify_passes_on_the_demo_study_as_an_operator_runs_it(tmp_path: Path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert run("demo", data_dir=data_dir).returncode == 0

    result = run("audit", "verify", data_dir=data_dir)

    assert result.returncode == 0, shown(result)
    lines = result.stdout.splitlines()
    assert lines, shown(result)
    assert all(re.match(r"ok   (system chain|project \d+): \d+ entr", line) for line in lines)
    assert all(HEAD.search(line) for line in lines), shown(result)
    assert result.stderr == ""
