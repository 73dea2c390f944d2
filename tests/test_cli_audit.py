"""`opencrf audit verify`: one line per chain, exit 1 when a chain is broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection, transaction

from opencrf import cli
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import audit_event_create
from tests.test_cli import run, shown

HEAD = re.compile(r"head [0-9a-f]{12}…$")
NO_ANCHOR = "No checkpoint anchors the trail yet (the job worker makes one every hour)."


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
        NO_ANCHOR,
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
    assert len(lines) == 3
    assert lines[0].startswith("ok   project 3: 3 entries, ")
    assert lines[1] == "FAIL project 4: entry 5 was changed: its hash does not match its content"
    assert lines[2] == NO_ANCHOR
    assert output.err == "opencrf audit: 1 of 2 audit chain(s) broken\n"


@pytest.mark.django_db
def test_verify_of_one_project_checks_only_that_chain(paula_context, capsys):
    _append(paula_context, 3, 2)
    _append(paula_context, 4, 2)
    _tamper(4, 1)

    assert cli.main(["audit", "verify", "--project", "3"]) == 0

    line, note = capsys.readouterr().out.splitlines()
    assert note == NO_ANCHOR
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
    *lines, note = result.stdout.splitlines()
    assert lines, shown(result)
    assert note == NO_ANCHOR
    assert all(re.match(r"ok   (system chain|project \d+): \d+ entr", line) for line in lines)
    assert all(HEAD.search(line) for line in lines), shown(result)
    assert result.stderr == ""


# --- Checkpoints: truncation, deletion and rewriting are named; forgeries refused ---


def _lift_delete_trigger():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_change"
            )
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_no_delete")


def _checkpoint_by_command(capsys):
    assert cli.main(["audit", "checkpoint"]) == 0
    line = capsys.readouterr().out
    return line.split(":")[0].removeprefix("Wrote ")


@pytest.mark.django_db
def test_checkpoint_prints_what_it_signed(paula_context, capsys):
    _append(paula_context, 0, 1)
    _append(paula_context, 3, 2)

    assert cli.main(["audit", "checkpoint"]) == 0

    output = capsys.readouterr().out
    assert re.fullmatch(
        r"Wrote audit-anchors/\d{8}T\d{12}Z-[0-9a-f]{4}\.json: 2 chain\(s\), 3 entries, signed\.\n",
        output,
    )


@pytest.mark.django_db
def test_verify_names_entries_cut_from_the_end_and_exits_1(paula_context, capsys):
    _append(paula_context, 3, 5)
    name = _checkpoint_by_command(capsys)
    _lift_delete_trigger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE project_id = 3 AND sequence >= 4")

    assert cli.main(["audit", "verify"]) == 1

    output = capsys.readouterr()
    fail, summary = output.out.splitlines()
    assert re.fullmatch(
        r"FAIL project 3: entries 4–5 are missing from the end: the checkpoint of "
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC \({re.escape(name)}\) saw 5",
        fail,
    )
    assert summary.startswith("Compared with 1 checkpoint(s); the newest is the checkpoint of ")
    assert output.err == "opencrf audit: 1 of 1 audit chain(s) broken\n"


@pytest.mark.django_db
def test_a_checkpoint_copied_away_still_catches_a_deleted_chain(paula_context, capsys, tmp_path):
    # The administrator deletes the chain and the checkpoint files; a copy kept elsewhere
    # (mailed, printed, or in a backup) is handed to verify.
    _append(paula_context, 0, 1)
    _append(paula_context, 3, 2)
    name = _checkpoint_by_command(capsys)
    copy = tmp_path / "kept-elsewhere.json"
    with default_storage.open(name, "rb") as handle:
        copy.write_bytes(handle.read())
    default_storage.delete(name)
    _lift_delete_trigger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE project_id = 3")

    assert cli.main(["audit", "verify"]) == 0  # nothing left to compare with
    capsys.readouterr()
    assert cli.main(["audit", "verify", "--anchor", str(copy)]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok   system chain: 1 entry, ")
    assert lines[1].startswith("FAIL project 3: the whole chain is missing: the checkpoint of ")
    assert lines[1].endswith(f"({copy}) saw 2 entries")


@pytest.mark.django_db
def test_a_forged_anchor_is_refused_by_name_and_exits_1(paula_context, capsys, tmp_path, settings):
    _append(paula_context, 3, 1)
    settings.OPENCRF_AUDIT_KEY = "the forger's own key, not the server's"
    name = _checkpoint_by_command(capsys)
    forged = tmp_path / "forged.json"
    with default_storage.open(name, "rb") as handle:
        forged.write_bytes(handle.read())
    default_storage.delete(name)
    settings.OPENCRF_AUDIT_KEY = ""

    assert cli.main(["audit", "verify", "--anchor", str(forged)]) == 1

    output = capsys.readouterr()
    assert output.out.splitlines()[1] == (
        f"FAIL checkpoint refused: {forged} was signed with another key: the audit key "
        "changed, or the checkpoint is forged"
    )
    assert output.err == "opencrf audit: 1 checkpoint(s) refused\n"


@pytest.mark.django_db
def test_an_anchor_that_cannot_be_read_is_named(capsys, tmp_path):
    missing = tmp_path / "nowhere.json"

    assert cli.main(["audit", "verify", "--anchor", str(missing)]) == 1

    assert capsys.readouterr().out == (
        f"FAIL checkpoint refused: {missing}: No such file or directory\n"
    )
