"""`opencrf export`: an export file from the command line, as the named user may make it."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from opencrf.core.commandline import CommandError, setup_django

if TYPE_CHECKING:
    from opencrf.exports.services import ExportResult

FORMAT_NAMES = ("csv", "csv-labels", "xlsx", "spss", "stata", "sas", "r", "odm", "tidy")
DEIDENTIFY_CHOICES = {
    "remove-identifiers": "remove_identifiers",
    "hash-record-id": "hash_record_id",
    "remove-free-text": "remove_free_text",
    "remove-dates": "remove_dates",
    "shift-dates": "shift_dates",
    "shift-survey-timestamps": "shift_survey_timestamps",
}


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export` (imports nothing from Django at module level)."""
    export = commands.add_parser(
        "export",
        help="export a project's data to a file (csv, xlsx, spss, stata, sas, r, odm, tidy)",
        description="Write the data USER may export from project ID, in FORMAT, with the "
        "user's export rights and data access group applied (a de-identified right always "
        "de-identifies, whatever is asked). The export is recorded in the project's log.",
    )
    export.add_argument("--project", type=int, required=True, metavar="ID")
    export.add_argument("--user", required=True, metavar="NAME", help="whose rights apply")
    export.add_argument("--format", required=True, choices=FORMAT_NAMES)
    export.add_argument(
        "--deidentify",
        action="append",
        default=[],
        choices=(*DEIDENTIFY_CHOICES, "all"),
        help="de-identify (repeatable); `all` applies every option",
    )
    export.add_argument("--records", metavar="IDS", default="", help="comma-separated ids")
    export.add_argument(
        "--survey-fields",
        action="store_true",
        help="include the survey identifier and each survey's completion timestamp",
    )
    export.add_argument("--out", metavar="PATH", help="the file to write (default: stdout)")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.accounts.models import User
    from opencrf.audit.models import AuditSource
    from opencrf.audit.services import AuditContext
    from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
    from opencrf.exports.deidentify import Deidentify
    from opencrf.exports.services import export_write
    from opencrf.exports.table import ExportRequest
    from opencrf.projects.models import Project

    user = User.objects.filter(username=args.user, is_active=True).first()
    project = Project.objects.filter(pk=args.project).first()
    if user is None or project is None:
        raise CommandError(f"no active user {args.user!r} with project {args.project}")
    chosen = set(DEIDENTIFY_CHOICES) if "all" in args.deidentify else set(args.deidentify)
    options = Deidentify(**{DEIDENTIFY_CHOICES[name]: True for name in chosen})
    records = tuple(part.strip() for part in args.records.split(",") if part.strip())
    request = ExportRequest(records=records, deidentify=options, survey_fields=args.survey_fields)
    context = AuditContext(actor=user, source=AuditSource.CLI)
    target = Path(args.out) if args.out else None
    try:
        with target.open("xb") if target else _stdout() as out:
            result = export_write(
                context=context, project=project, format=args.format, request=request, out=out
            )
    except FileExistsError as error:
        raise CommandError(f"{target} exists; choose another --out") from error
    except (NotFound, PermissionDenied, InvalidInput) as error:
        if target is not None:
            target.unlink(missing_ok=True)
        raise CommandError(str(error)) from error
    _report(args, result, target)


def _stdout() -> nullcontext[BinaryIO]:
    return nullcontext(sys.stdout.buffer)


def _report(args: argparse.Namespace, result: ExportResult, target: Path | None) -> None:
    where = str(target) if target else "standard output"
    applied = ", ".join(result.deidentified) or "none"
    print(
        f"Exported {result.rows} rows of project {args.project} as {args.format} to {where} "
        f"(de-identification: {applied}).",
        file=sys.stderr,
    )
    for name, short in result.renamed.items():
        print(f"  variable {name} is {short} in the file", file=sys.stderr)
