"""`opencrf manage suspend_inactive_users`: the daily account clean-up, for cron or a timer."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from opencrf.accounts.services import users_suspend_inactive


class Command(BaseCommand):
    help = (
        "Suspend accounts past their expiry date or unused for the number of days set in the "
        "site settings. Safe to run repeatedly; administrators are never suspended."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="hand the work to the background worker instead of doing it now",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from opencrf.accounts.tasks import suspend_inactive_users

            result = suspend_inactive_users.enqueue()
            self.stdout.write(f"Enqueued job {result.id}.")
            return
        suspended = users_suspend_inactive()
        for user in suspended:
            self.stdout.write(f"Suspended {user.username}: {user.suspended_reason}")
        self.stdout.write(f"{len(suspended)} account(s) suspended.")
