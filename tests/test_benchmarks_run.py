"""Every benchmark in bench/ still runs, at a size too small to measure anything.

The figures in bench/RESULTS.md come from these scripts run by hand; nothing else executes
them, so a change to a model they write (as `Record.arm` becoming `RecordArm` did) would break
them unseen. Each runs here in its own process on a scratch SQLite folder (the scripts make
one), with DATABASE_URL removed so that the PostgreSQL stage does not point them at its
database. Nothing is timed: only the exit status and the figure line each prints are checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

# script, tiny arguments, a line its output must hold
RUNS = [
    ("bench_alerts_on_save.py", ["--alerts", "5", "--runs", "2"], "evaluating 5 alerts on a save"),
    ("bench_api.py", ["--records", "300", "--batch", "100"], "API export peak Python memory"),
    ("bench_backup.py", ["--rows", "200", "--files-mb", "1"], "recovery time"),
    ("bench_dashboard.py", ["--records", "200", "--runs", "1"], "search '9' (page 3)"),
    ("bench_data_entry.py", ["--runs", "1", "--warmup", "0"], "save (Client.post, 302)"),
    ("bench_designer.py", ["--fields", "20", "--runs", "1"], "add a field (editor POST)"),
    ("bench_dictionary.py", ["--fields", "50", "--repeat", "1"], "  total "),
    ("bench_draft_review.py", ["--records", "30", "--runs", "1"], "review: median"),
    ("bench_exports.py", ["--records", "50", "--fields", "20"], "raw select + CSV serialise"),
    ("bench_export_archive.py", ["--records", "50", "--fields", "20"], "archive job"),
    (
        "bench_form_logic.py",
        ["--fields", "20", "--runs", "1", "--warmup", "0"],
        "first full evaluation (initFormLogic",
    ),
    ("bench_import_tool.py", ["--rows", "50", "--fields", "20"], "import-tool preview of"),
    ("bench_invitations.py", ["--count", "10", "--batch", "4"], "received by the SMTP server: 10"),
    ("bench_load.py", ["--users", "2", "--duration", "2"], "lost updates"),
    ("bench_logic.py", ["--fields", "20", "--runs", "1"], "first run (parses every expression)"),
    ("bench_preview.py", ["--fields", "20", "--runs", "1"], "render template only"),
    ("bench_quality_rules.py", ["--records", "30"], "all built-in rules:"),
    (
        "bench_randomize_concurrent.py",
        ["--count", "4", "--strata-sites", "2", "--blocks", "2"],
        "rows used twice: 0, rows skipped: 0",
    ),
    (
        "bench_query_dashboard.py",
        ["--queries", "200", "--records", "40", "--runs", "1"],
        "site coordinator: first page (one site)",
    ),
    (
        "bench_reports.py",
        ["--records", "150", "--fields", "20", "--runs", "1"],
        "filtered + sorted",
    ),
    ("bench_stats.py", ["--records", "50", "--fields", "20"], "stats grouped by data access group"),
    (
        "bench_survey_load.py",
        ["--sqlite", "--respondents", "2", "--duration", "2"],
        "errors 0\nlost responses / mismatches 0\naudit verify: ok",
    ),
]


def test_every_benchmark_is_listed_here():
    assert sorted(path.name for path in BENCH.glob("bench_*.py")) == sorted(r[0] for r in RUNS)


@pytest.mark.parametrize(("script", "arguments", "expected"), RUNS, ids=[r[0] for r in RUNS])
def test_the_benchmark_runs(script, arguments, expected):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}

    done = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
