"""Background jobs of the accounts app (Django Tasks; run by the worker)."""

from __future__ import annotations

from django_tasks import task

from opencrf.accounts.services import users_suspend_inactive


@task()
def suspend_inactive_users() -> list[str]:
    """Suspend expired and long-unused accounts; returns the user names suspended.

    Idempotent: enqueue it as often as you like (daily is enough), e.g. from cron with
    `opencrf manage suspend_inactive_users --enqueue`.
    """
    return [user.username for user in users_suspend_inactive()]
