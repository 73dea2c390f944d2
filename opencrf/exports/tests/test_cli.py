from __future__ import annotations

import csv
import io

import pytest

from opencrf.cli import main
from opencrf.exports.tests.conftest import SITE_A

pytestmark = pytest.mark.django_db(transaction=False)


def test_export_command_writes_the_users_export_and_says_what_it_did(
    demo, site_a_sam, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("opencrf.exports.cli.setup_django", lambda: None)
    out = tmp_path / "site_a.csv"

    status = main(
        [
            "export",
            "--project",
            str(demo.pk),
            "--user",
            "site_a_sam",
            "--format",
            "csv",
            "--deidentify",
            "remove-dates",
            "--out",
            str(out),
        ]
    )

    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert status == 0
    assert {row["record_id"][0] for row in rows} == {"1"}  # toto_univ's records: 1-1 … 1-4
    assert "consent_date" not in rows[0]
    assert capsys.readouterr().err == (
        f"Exported {len(rows)} rows of project {demo.pk} as csv to {out} "
        "(de-identification: remove_dates).\n"
    )
    assert SITE_A == "toto_univ"


def test_export_command_refuses_a_non_member_and_writes_no_file(
    demo, site_b_bea, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("opencrf.exports.cli.setup_django", lambda: None)
    out = tmp_path / "x.csv"

    status = main(
        [
            "export",
            "--project",
            str(demo.pk),
            "--user",
            "site_b_bea",
            "--format",
            "csv",
            "--out",
            str(out),
        ]
    )

    assert status == 1
    assert not out.exists()
    assert capsys.readouterr().err == "opencrf export: No such project.\n"


def test_export_command_logs_the_export_in_a_transaction_of_its_own(
    demo, pi_paula, tmp_path, monkeypatch
):
    # Regression: the log entry was written outside any transaction of its own, which the
    # audit service refuses outside a test, so every real `opencrf export` failed.
    from django.db import connection

    from opencrf.exports import services

    blocks = []
    real = services.audit_event_create

    def spy(**kwargs):
        blocks.append([b for b in connection.atomic_blocks if not getattr(b, "_from_testcase", 0)])
        return real(**kwargs)

    monkeypatch.setattr(services, "audit_event_create", spy)
    monkeypatch.setattr("opencrf.exports.cli.setup_django", lambda: None)

    status = main(
        [
            "export",
            "--project",
            str(demo.pk),
            "--user",
            "pi_paula",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "all.csv"),
        ]
    )

    assert status == 0
    assert [len(own) for own in blocks] == [1]
