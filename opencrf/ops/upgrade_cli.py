"""`opencrf upgrade` and `opencrf report` (operations reports, demo history)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from opencrf.core.commandline import CommandError, setup_django


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the upgrade and report commands (imports nothing from Django at module level)."""
    upgrade = commands.add_parser(
        "upgrade",
        help="backup, migrate, verify and report after installing a new version",
        description="Run after installing a new version: readiness checks, maintenance mode on, "
        "a backup, the database migrations, verification (migrations, audit chains, row "
        "counts, readiness), maintenance mode off. If verification fails, maintenance mode "
        "stays on and the way back is printed.",
    )
    upgrade.add_argument("--dry-run", action="store_true", help="show what would be done")
    upgrade.set_defaults(handler=cmd_upgrade)
    _add_report_parser(commands)


def _add_report_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="operations reports (monthly, annual, demo)")
    kinds = report.add_subparsers(dest="report_command", required=True, metavar="KIND")
    monthly = kinds.add_parser("monthly", help="the operations report of a month")
    monthly.add_argument("period", metavar="YYYY-MM")
    annual = kinds.add_parser("annual", help="the operations report of a year")
    annual.add_argument("period", metavar="YYYY")
    for parser in (monthly, annual):
        parser.add_argument("--pdf", metavar="FILE", help="write the report as PDF to FILE")
        parser.add_argument("--language", choices=("ja", "en"), default="en")
        parser.set_defaults(handler=cmd_report)
    demo = kinds.add_parser(
        "demo-history",
        help="generate a made-up operations history (training and validation instances)",
        description="Write a seeded, made-up operations history: daily capacity snapshots, "
        "backups, restore drills, incidents, upgrades and next month's maintenance. Replaces "
        "its own earlier rows only. Refused on production and shared instances without --force.",
    )
    demo.add_argument("--months", type=int, default=24, help="months of history (default 24)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo.add_argument("--force", action="store_true", help="also on production or shared")
    demo.set_defaults(handler=cmd_demo_history)


def cmd_upgrade(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.upgrade import UpgradeFailed, UpgradeStopped, upgrade_dry_run, upgrade_run

    if args.dry_run:
        if upgrade_dry_run(print):
            raise CommandError("readiness checks failed; fix them before upgrading")
        return
    try:
        upgrade_run(by=f"opencrf upgrade ({getpass.getuser()})", say=print)
    except UpgradeStopped as error:
        raise CommandError(str(error)) from None
    except UpgradeFailed as error:
        print("")
        print("VERIFICATION FAILED. Maintenance mode stays on. The way back:")
        for number, step in enumerate(error.way_back, start=1):
            print(f"  {number}. {step}")
        print("")
        raise CommandError(str(error)) from None


def cmd_report(args: argparse.Namespace) -> None:
    setup_django()
    from django.utils import translation

    from opencrf.core.errors import InvalidInput
    from opencrf.ops.report_pdf import report_pdf
    from opencrf.ops.reports import (
        annual_report,
        instance_began,
        monthly_report,
        parse_period,
        period_before_instance,
    )

    with translation.override(args.language):
        try:
            period = parse_period(args.period)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        if (period.month is None) != (args.report_command == "annual"):
            expected = "YYYY" if args.report_command == "annual" else "YYYY-MM"
            raise CommandError(f"expected {expected}, not {args.period}")
        if period_before_instance(period):
            began = instance_began()
            raise CommandError(f"no report for {period.label}: this instance began on {began}")
        if period.month is None:
            report = annual_report(period.year)
        else:
            report = monthly_report(period.year, period.month)
        if args.pdf:
            _write(Path(args.pdf), report_pdf(report, language=args.language))
            print(f"Wrote the {period.label} operations report to {args.pdf}")
            return
        _print_summary(report)


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None


def _print_summary(report: object) -> None:
    from opencrf.ops.reports import OperationsReport

    assert isinstance(report, OperationsReport)
    levels = ", ".join(f"L{level}: {n}" for level, n in report.incidents_by_level.items())
    backups = report.backups
    lines = [
        f"Operations report {report.period.label}",
        f"  availability  {report.availability_percent:.3f} %",
        f"  incidents     {levels}",
        f"  backups       {backups.succeeded} succeeded, {backups.failed} failed",
        f"  drills        {len(report.drills)} "
        f"({sum(not d.succeeded for d in report.drills)} failed)",
        f"  upgrades      {len(report.upgrades)}",
    ]
    last = report.capacity_last
    if last is not None:
        lines.append(
            f"  capacity      {last.day}: database {last.database_bytes} B, files "
            f"{last.storage_bytes} B, {last.records} records, {last.users_registered} users"
        )
    lines.append(f"  maintenance   {len(report.maintenance)} planned next period")
    sys.stdout.write("\n".join(lines) + "\n")


def cmd_demo_history(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.core.errors import InvalidInput
    from opencrf.ops.demo_history import demo_history_generate

    try:
        summary = demo_history_generate(months=args.months, seed=args.seed, force=args.force)
    except InvalidInput as error:
        raise CommandError(error.message) from None
    print(
        f"Wrote a made-up operations history from {summary.first_day} to {summary.last_day}: "
        f"{summary.snapshots} capacity snapshots, {summary.backups} backups, "
        f"{summary.drills} restore drills, {summary.incidents} incidents, "
        f"{summary.upgrades} upgrades, {summary.maintenance} planned maintenance windows."
    )
