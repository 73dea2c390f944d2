"""`opencrf`: every operator task in one command. Each subcommand prints what it did.

opencrf init     create or migrate the database; optionally the first administrator
opencrf serve    run the production server (gunicorn + whitenoise) with background jobs
opencrf worker   run background jobs in their own process
opencrf demo     load the bilingual demo study
opencrf check    readiness checks (database, migrations, storage, worker, disk, backup, settings)
opencrf audit    audit trail: `verify` the chains against signed checkpoints, make a `checkpoint`
opencrf token    print an API token: a member's project token, or an administrator's super token
opencrf backup   back up now (`backup list`, `backup prune`); `opencrf restore` puts one back
opencrf maintenance  maintenance mode on, off or status; the training instance's reset
opencrf upgrade  after installing a new version: backup, migrate, verify, report
opencrf report   operations reports (monthly, annual) and a demo operations history
opencrf export   a project's data as csv, xlsx, spss, stata, sas, r, odm or tidy tables
opencrf manage   any Django management command, for the rare expert task
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

from opencrf.config.env import env_bool, env_int, env_str
from opencrf.config.site_url import default_for_serve
from opencrf.core.commandline import CommandError
from opencrf.core.commandline import setup_django as _setup_django
from opencrf.exports.cli import add_parsers as export_parsers
from opencrf.ops.backups.cli import add_parsers as backup_parsers
from opencrf.ops.maintenance_cli import add_parsers as maintenance_parsers
from opencrf.ops.upgrade_cli import add_parsers as upgrade_parsers

if TYPE_CHECKING:
    from opencrf.audit.verify import AnchoredVerification, ChainReport


def _migrate(verbose: bool = False) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        print(f"Applying {len(pending)} database migration(s) on {connection.vendor}…")
        call_command("migrate", interactive=False, verbosity=1 if verbose else 0)
    print(f"Database is up to date ({connection.vendor}).")


def _collect_static() -> None:
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"Static files are ready in {settings.STATIC_ROOT}")


def _read_password_file(path: str) -> str:
    try:
        password = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise CommandError(f"Cannot read the password file {path}: {error.strerror}") from None
    if not password:
        raise CommandError(f"The password file {path} is empty")
    return password


def cmd_init(args: argparse.Namespace) -> None:
    _setup_django(installs=True)
    _migrate(verbose=args.verbose)
    if args.admin:
        _create_admin(args)


def _create_admin(args: argparse.Namespace) -> None:
    from opencrf.accounts.models import User
    from opencrf.accounts.services import user_create_admin
    from opencrf.core.errors import InvalidInput

    if not args.password_file:
        raise CommandError("--admin needs --password-file (a file holding the password)")
    if User.objects.filter(username=args.admin).exists():
        print(f"Administrator {args.admin} already exists; left unchanged.")
        return
    password = _read_password_file(args.password_file)
    try:
        user_create_admin(username=args.admin, email=args.email or "", password=password)
    except InvalidInput as error:
        raise CommandError(f"The password was refused: {error.message}") from None
    print(f"Created administrator {args.admin}.")


def _first_run_admin() -> None:
    """With no administrator yet, create `admin` with a one-time password and show it once."""
    from opencrf.accounts.selectors import administrators_exist
    from opencrf.accounts.services import one_time_password, user_create_admin

    if administrators_exist():
        return
    password = one_time_password()
    user_create_admin(username="admin", email="", password=password, must_change_password=True)
    print("")
    print("  First run: created the administrator account.")
    print("    login:    admin")
    print(f"    password: {password}   (one-time: you will choose your own at first login)")
    print("")


def cmd_serve(args: argparse.Namespace) -> None:
    if (warning := default_for_serve(args.host, args.port)) is not None:
        print(f"WARNING: {warning}", flush=True)
    _setup_django(installs=True)
    _migrate()
    _collect_static()
    _first_run_admin()
    from opencrf.ops.server import run_server

    run_server(host=args.host, port=args.port, workers=args.workers, jobs=not args.no_jobs)


def cmd_worker(args: argparse.Namespace) -> None:
    _setup_django()
    from opencrf.accounts.checks import site_url_warning
    from opencrf.ops.jobs import run_worker_process

    # The worker sends the password-reset and account-request mails, so its links matter too.
    if (warning := site_url_warning()) is not None:
        print(f"WARNING: {warning}", flush=True)
    print("Background worker started; Ctrl+C stops it after the running job.")
    run_worker_process(interval=args.interval)


def cmd_demo(args: argparse.Namespace) -> None:
    _setup_django(installs=True)
    _migrate()
    from opencrf.demo.loader import load_demo

    project, created = load_demo(owner_username=args.owner)
    if created:
        print(f"Loaded the demo study as project {project.pk}: {project.title}")
    else:
        print(f"The demo study is already loaded as project {project.pk}; left unchanged.")


def cmd_check(args: argparse.Namespace) -> None:
    """Print every readiness check; exit 1 if one fails.

    Before the first start no job worker has reported yet: that is printed as a warning and
    does not fail the command. A worker that reported once and fell silent fails it and
    raises the `worker_down` alert (with its e-mail), so a cron entry running
    `opencrf check` catches the case where no worker is left to raise alerts.
    """
    _setup_django()
    from django.core.management import call_command

    from opencrf.ops.alerts.evaluate import alert_evaluate
    from opencrf.ops.health import NO_WORKER_YET, run_checks

    failures = 0
    for result in run_checks(verbose_errors=True):
        if result.skipped:
            print(f"SKIP {result.name}: {result.detail}")
            continue
        if result.name == "worker" and result.detail == NO_WORKER_YET:
            print(f"WARN worker: {result.detail} (start `opencrf serve` or `opencrf worker`)")
            continue
        print(f"{'ok  ' if result.ok else 'FAIL'} {result.name}: {result.detail}")
        failures += not result.ok
        if result.name == "worker" and not result.ok:
            try:
                print(f"     worker_down alert: {alert_evaluate('worker_down')}")
            except Exception as error:  # the database may be down too: the checks said so
                print(f"     could not raise the worker_down alert ({type(error).__name__})")
    from opencrf.accounts.checks import site_url_warning

    if (warning := site_url_warning()) is not None:
        print(f"WARN site_url: {warning}")
    try:
        call_command("check", deploy=args.deploy, fail_level="WARNING" if args.deploy else "ERROR")
        print(
            "ok   configuration: Django system checks passed" + (" (deploy)" if args.deploy else "")
        )
    except Exception as error:
        print(f"FAIL configuration: {error}")
        failures += 1
    if failures:
        raise CommandError(f"{failures} check(s) failed")


def cmd_audit_verify(args: argparse.Namespace) -> None:
    """Check every chain against itself and against the signed checkpoints; exit 1 on any fault.

    The checkpoints are those the jobs compare with: the files in the storage from the newest
    restart on and every kept backup's made since (unless --no-backups), plus each `--anchor`
    (a backup id, a checkpoint file or a backup's manifest) however old.
    """
    _setup_django()
    from opencrf.audit.anchors import AnchorInvalid
    from opencrf.audit.verify import verify_anchored
    from opencrf.ops.backups.audit_anchor import checkpoint_from, trail_anchors

    anchors = trail_anchors(backups=not args.no_backups)
    checkpoints, refused = list(anchors.checkpoints), list(anchors.refused)
    for source in args.anchor:
        try:
            checkpoint = checkpoint_from(source)
        except AnchorInvalid as error:
            refused.append(str(error))
            continue
        if checkpoint not in checkpoints:  # a kept backup's is compared already
            checkpoints.append(checkpoint)
    for reason in anchors.unread:
        print(
            f"opencrf audit: warning: {reason}; not compared (--no-backups skips the backups)",
            file=sys.stderr,
        )
    result = verify_anchored(checkpoints, refused=refused, project_id=args.project)
    only = result.chains[0] if args.project is not None else None
    if only is not None and only.ok and not only.entries_checked:
        raise CommandError(f"project {args.project} has no audit entries")
    _print_verification(result)
    _verification_outcome(result)


def _print_verification(result: AnchoredVerification) -> None:
    if not result.chains and not result.checkpoints and result.ok:
        return  # "The audit trail is empty." says it all
    for report in result.chains:
        print(_chain_line(report))
    for reason in result.refused:
        print(f"FAIL checkpoint refused: {reason}")
    for problem in result.problems:
        print(f"FAIL anchoring: {problem}")
    newest = result.newest
    if newest is not None:
        count = len(result.checkpoints)
        print(f"Compared with {count} checkpoint(s); the newest is {newest.label}.")
    elif result.chains and not result.problems:
        print("No checkpoint anchors the trail yet (the job worker makes one every hour).")


def _verification_outcome(result: AnchoredVerification) -> None:
    broken = sum(not report.ok for report in result.chains)
    faults = []
    if broken:
        faults.append(f"{broken} of {len(result.chains)} audit chain(s) broken")
    if result.refused:
        faults.append(f"{len(result.refused)} checkpoint(s) refused")
    if result.problems:
        faults.append("the trail is not anchored")
    if faults:
        raise CommandError("; ".join(faults))
    if not result.chains:
        print("The audit trail is empty.")


def _chain_line(report: ChainReport) -> str:
    name = "system chain" if report.project_id == 0 else f"project {report.project_id}"
    if not report.ok:
        return f"FAIL {name}: {report.reason}"
    entries = "entry" if report.entries_checked == 1 else "entries"
    return f"ok   {name}: {report.entries_checked} {entries}, head {report.head_hash[:12]}…"


def cmd_audit_checkpoint(args: argparse.Namespace) -> None:
    """Sign every chain's head now and keep it beside the others (as the hourly job does)."""
    _setup_django()
    from opencrf.audit.anchors import checkpoint_make, checkpoint_write

    checkpoint = checkpoint_make(reason="command line")
    name = checkpoint_write(checkpoint)
    entries = sum(chain.count for chain in checkpoint.chains)
    print(f"Wrote {name}: {len(checkpoint.chains)} chain(s), {entries} entries, signed.")


def cmd_token(args: argparse.Namespace) -> None:
    """Print a new API token on standard output (alone, for scripts); notes go to stderr."""
    _setup_django()
    from opencrf.accounts.models import User
    from opencrf.api import tokens
    from opencrf.audit.models import AuditSource
    from opencrf.audit.services import AuditContext
    from opencrf.core.errors import InvalidInput
    from opencrf.projects.models import Project

    user = User.objects.filter(username=args.user).first()
    if user is None:
        raise CommandError(f"no user named {args.user}")
    context = AuditContext(actor=None, source=AuditSource.CLI)
    try:
        if args.super:
            token = tokens.super_token_create(context=context, user=user)
        else:
            project = Project.objects.filter(pk=args.project).first()
            if project is None:
                raise CommandError(f"no project {args.project}")
            make = tokens.token_regenerate if args.regenerate else tokens.token_create
            token = make(context=context, user=user, project=project)
    except InvalidInput as error:
        raise CommandError(error.message) from None
    print(token)
    kind = "a super token" if args.super else f"an API token for project {args.project}"
    print(f"Issued {kind} to {user.username}; it is shown only now.", file=sys.stderr)


def cmd_manage(args: argparse.Namespace) -> None:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["opencrf manage", *args.rest])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opencrf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create or migrate the database")
    init.add_argument("--admin", metavar="NAME", help="create this administrator if missing")
    init.add_argument("--email", metavar="E", help="the administrator's e-mail address")
    init.add_argument("--password-file", metavar="F", help="file holding the password")
    init.add_argument("--verbose", action="store_true", help="list each migration")
    init.set_defaults(handler=cmd_init)

    serve = commands.add_parser("serve", help="run the web server with background jobs")
    serve.add_argument("--host", default=env_str("OPENCRF_HOST") or "127.0.0.1")
    serve.add_argument("--port", type=int, default=env_int("OPENCRF_PORT", 8000))
    serve.add_argument(
        "--workers", type=int, default=0, help="web processes (default: by database)"
    )
    serve.add_argument("--no-jobs", action="store_true", help="leave jobs to `opencrf worker`")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run background jobs in this process")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    worker.set_defaults(handler=cmd_worker)

    demo = commands.add_parser("demo", help="load the bilingual demo study")
    demo.add_argument("--owner", metavar="NAME", help="make this user a member of the demo")
    demo.set_defaults(handler=cmd_demo)

    check = commands.add_parser("check", help="readiness checks")
    check.add_argument("--deploy", action="store_true", help="also Django's deployment checks")
    check.set_defaults(handler=cmd_check)

    _add_audit_parser(commands)
    _add_token_parser(commands)
    backup_parsers(commands)
    maintenance_parsers(commands)
    upgrade_parsers(commands)
    export_parsers(commands)

    manage = commands.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=cmd_manage)
    return parser


def _add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="audit trail tasks (verify, checkpoint)")
    tasks = audit.add_subparsers(dest="audit_command", required=True, metavar="TASK")
    verify = tasks.add_parser(
        "verify",
        help="recompute the hash chains and compare them with the checkpoints; exit 1 on a fault",
        description="Recompute every audit hash chain (or one project's) and name the first "
        "broken entry; compare every chain with the signed checkpoints (the files under "
        "audit-anchors/ and every kept backup's, as the jobs do), naming entries missing "
        "from the end, chains missing whole and rewritten entries. Exits 1 on any fault.",
    )
    verify.add_argument("--project", type=int, metavar="ID", help="only this project's chain")
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="SOURCE",
        help="also compare with this backup's checkpoint (a backup id), or a checkpoint or "
        "manifest file; may be repeated",
    )
    verify.add_argument(
        "--no-backups",
        action="store_true",
        help="do not read the kept backups' checkpoints (when the store is slow or away)",
    )
    verify.set_defaults(handler=cmd_audit_verify)
    checkpoint = tasks.add_parser(
        "checkpoint",
        help="sign every chain's head now (the worker does it hourly)",
        description="Make a signed checkpoint of every audit chain's length and head and keep "
        "it in the file storage under audit-anchors/.",
    )
    checkpoint.set_defaults(handler=cmd_audit_checkpoint)


def _add_token_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser(
        "token",
        help="print an API token",
        description="Issue an API token and print it (only the token, on standard output). "
        "A project token needs --project; a super token (administrators only) --super.",
    )
    token.add_argument("--user", required=True, metavar="NAME", help="the token's owner")
    which = token.add_mutually_exclusive_group(required=True)
    which.add_argument("--project", type=int, metavar="ID", help="a project token")
    which.add_argument("--super", action="store_true", help="a super token (creates projects)")
    token.add_argument(
        "--regenerate", action="store_true", help="replace the member's existing token"
    )
    token.set_defaults(handler=cmd_token)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except ImproperlyConfigured as error:
        print(f"opencrf: {error}", file=sys.stderr)
        return 1
    handler: Callable[[argparse.Namespace], None] = args.handler
    try:
        handler(args)
    except CommandError as error:
        print(f"opencrf {args.command}: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # one clear line for the operator, not a traceback
        if env_bool("OPENCRF_DEBUG_CLI", default=False):
            raise
        print(f"opencrf {args.command}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
