"""`opencrf manage two_factor_reset USER`: remove a user's second factor (a lost phone)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opencrf.accounts.models import User
from opencrf.accounts.sessions import sessions_end_all
from opencrf.accounts.two_factor import two_factor_disable


class Command(BaseCommand):
    help = (
        "Remove the authenticator and recovery codes of a user who lost them, and sign out "
        "their sessions; they set up a new authenticator at their next login where the site "
        "requires one. Check who is asking before you run it. Logged as 2fa.disabled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--by", default="", help="user name of the administrator doing it (for the log)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        actor = User.objects.filter(username=options["by"]).first() if options["by"] else None
        if options["by"] and actor is None:
            raise CommandError(f"No user named {options['by']!r} (--by).")
        if not two_factor_disable(user=user, actor=actor, address="command line"):
            self.stdout.write(f"{user.username} has no second factor; nothing changed.")
            return
        sessions_end_all(user)
        self.stdout.write(
            f"Removed the second factor of {user.username} and signed out their sessions."
        )
