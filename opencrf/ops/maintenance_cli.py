"""`opencrf maintenance on|off|status|training-reset`."""

from __future__ import annotations

import argparse
import getpass

from opencrf.core.commandline import CommandError, setup_django


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the maintenance-mode command (imports nothing from Django at module level)."""
    maintenance = commands.add_parser(
        "maintenance",
        help="maintenance mode (read-only site) and the training reset",
        description="Turn maintenance mode on or off, or show it. While it is on, every page "
        "is read-only: writes are refused with a message, reading and signing in still work.",
    )
    actions = maintenance.add_subparsers(
        dest="maintenance_command", required=True, metavar="ACTION"
    )
    on = actions.add_parser("on", help="make the site read-only")
    on.add_argument("--message", default="", metavar="TEXT", help="shown with the banner")
    on.set_defaults(handler=cmd_maintenance_on)
    off = actions.add_parser("off", help="accept changes again")
    off.set_defaults(handler=cmd_maintenance_off)
    status = actions.add_parser("status", help="print whether it is on, since when, by whom")
    status.set_defaults(handler=cmd_maintenance_status)
    reset = actions.add_parser(
        "training-reset",
        help="reset a training instance to the demo study now",
        description="Remove every project and its data and load the demo study again; user "
        "accounts stay. Refused unless OPENCRF_INSTANCE_ROLE is training.",
    )
    reset.set_defaults(handler=cmd_training_reset)


def _operator() -> str:
    """Who ran the command, as the security log and the status show it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user} (command line)"


def _local(value: object) -> str:
    from datetime import datetime

    from django.conf import settings
    from django.utils import timezone

    assert isinstance(value, datetime)
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M:%S} ({settings.TIME_ZONE})"


def cmd_maintenance_on(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.core.errors import InvalidInput
    from opencrf.ops.maintenance import maintenance_start

    try:
        maintenance_start(by=_operator(), message=args.message)
    except InvalidInput as error:
        raise CommandError(error.message) from None
    print("Maintenance mode is on: the site is read-only until `opencrf maintenance off`.")
    if args.message.strip():
        print(f"Message: {args.message.strip()}")


def cmd_maintenance_off(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.maintenance import maintenance_status, maintenance_stop

    was_on = maintenance_status().on
    maintenance_stop(by=_operator())
    if was_on:
        print("Maintenance mode is off: changes are accepted again.")
    else:
        print("Maintenance mode was already off.")


def cmd_maintenance_status(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.maintenance import maintenance_status

    status = maintenance_status()
    if not status.on:
        print("Maintenance mode: off")
        return
    print(f"Maintenance mode: on since {_local(status.since)} by {status.by}")
    if status.message:
        print(f"Message: {status.message}")


def cmd_training_reset(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.instance import NotATrainingInstance, training_reset

    try:
        result = training_reset()
    except NotATrainingInstance as error:
        raise CommandError(str(error)) from None
    print(
        f"Training reset: removed {result.projects_removed} project(s), "
        f"{result.audit_entries_removed} audit entries and {result.files_removed} file(s); "
        f"the demo study is project {result.demo_project_id}."
    )
