"""Expiry dates, suspension by an administrator, and the automatic suspension job."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opencrf.accounts import services
from opencrf.accounts.models import SecurityEvent, SiteSettings, User
from opencrf.accounts.tasks import suspend_inactive_users

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def hana(django_user_model):
    return django_user_model.objects.create_user(
        username="hana", email="hana@example.jp", password=PASSWORD
    )


def _login(client, username="hana"):
    return client.post(reverse("accounts:login"), {"username": username, "password": PASSWORD})


def _days_ago(days):
    return timezone.now() - timedelta(days=days)


def _set_idle_days(days):
    site, _created = SiteSettings.objects.get_or_create(pk=1)
    site.suspend_after_days = days
    site.save()


def test_a_suspended_user_cannot_log_in(client, hana, admin_ada):
    services.user_suspend(user=hana, actor=admin_ada, reason="Left the study")
    _login(client)
    assert "_auth_user_id" not in client.session


def test_an_expired_user_cannot_log_in_even_before_the_job_runs(client, hana):
    hana.expires_on = timezone.localdate() - timedelta(days=1)
    hana.save()
    _login(client)
    assert "_auth_user_id" not in client.session


def test_an_account_works_through_its_last_day(client, hana):
    hana.expires_on = timezone.localdate()
    hana.save()
    _login(client)
    assert client.session["_auth_user_id"] == str(hana.pk)


def test_suspension_ends_the_users_open_sessions(client, hana, admin_ada):
    _login(client)
    assert client.get(reverse("projects:list")).status_code == 200

    services.user_suspend(user=hana, actor=admin_ada, reason="Left the study")
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_suspension_is_logged_with_its_reason_and_unsuspension_too(hana, admin_ada):
    assert services.user_suspend(user=hana, actor=admin_ada, reason="Left the study") is True
    assert services.user_suspend(user=hana, actor=admin_ada, reason="again") is False
    assert services.user_unsuspend(user=hana, actor=admin_ada) is True
    events = SecurityEvent.objects.filter(user=hana).order_by("at", "id")
    assert [(e.kind, e.actor, e.details) for e in events] == [
        ("account.suspended", admin_ada, {"reason": "Left the study"}),
        ("account.unsuspended", admin_ada, {}),
    ]


def test_the_job_suspends_accounts_unused_for_the_configured_days(hana, django_user_model):
    _set_idle_days(90)
    recent = django_user_model.objects.create_user(username="recent", password=PASSWORD)
    User.objects.filter(pk=hana.pk).update(last_login=_days_ago(91), date_joined=_days_ago(400))
    User.objects.filter(pk=recent.pk).update(last_login=_days_ago(89), date_joined=_days_ago(400))

    suspended = services.users_suspend_inactive()

    assert [u.username for u in suspended] == ["hana"]
    hana.refresh_from_db()
    assert hana.suspended_reason == "No login for 90 days"
    assert SecurityEvent.objects.get(kind="account.suspended").user == hana
    assert User.objects.get(pk=recent.pk).suspended_at is None


def test_the_job_counts_a_new_account_from_its_creation(django_user_model):
    _set_idle_days(30)
    new = django_user_model.objects.create_user(username="new")
    User.objects.filter(pk=new.pk).update(date_joined=_days_ago(10))
    assert services.users_suspend_inactive() == []


def test_recent_activity_keeps_an_account_without_a_recent_login(hana):
    _set_idle_days(30)
    User.objects.filter(pk=hana.pk).update(
        last_login=_days_ago(60), last_activity_at=_days_ago(1), date_joined=_days_ago(90)
    )
    assert services.users_suspend_inactive() == []


def test_the_job_suspends_expired_accounts_and_logs_them_as_expired(hana):
    _set_idle_days(0)
    hana.expires_on = date(2026, 3, 31)
    hana.save()
    now = timezone.make_aware(timezone.datetime(2026, 4, 1, 9, 0))
    suspended = services.users_suspend_inactive(now=now)
    assert [u.username for u in suspended] == ["hana"]
    event = SecurityEvent.objects.get(user=hana)
    assert (event.kind, event.actor, event.details) == (
        "account.expired",
        None,
        {"reason": "Account expired"},
    )


def test_the_job_is_idempotent(hana):
    _set_idle_days(30)
    User.objects.filter(pk=hana.pk).update(last_login=_days_ago(31), date_joined=_days_ago(31))
    assert len(services.users_suspend_inactive()) == 1
    before = User.objects.get(pk=hana.pk).suspended_at
    assert services.users_suspend_inactive() == []
    assert User.objects.get(pk=hana.pk).suspended_at == before
    assert SecurityEvent.objects.filter(kind="account.suspended").count() == 1


def test_zero_days_never_suspends_for_inactivity(hana):
    _set_idle_days(0)
    User.objects.filter(pk=hana.pk).update(last_login=_days_ago(3000), date_joined=_days_ago(3000))
    assert services.users_suspend_inactive() == []


def test_administrators_are_never_suspended_automatically(admin_ada):
    _set_idle_days(30)
    User.objects.filter(pk=admin_ada.pk).update(
        last_login=_days_ago(365), date_joined=_days_ago(365), expires_on=date(2020, 1, 1)
    )
    assert services.users_suspend_inactive() == []


def test_the_management_command_reports_what_it_suspended(hana, capsys):
    _set_idle_days(30)
    User.objects.filter(pk=hana.pk).update(last_login=_days_ago(31), date_joined=_days_ago(31))
    call_command("suspend_inactive_users")
    assert capsys.readouterr().out == (
        "Suspended hana: No login for 30 days\n1 account(s) suspended.\n"
    )


def test_the_background_task_does_the_same_work(hana, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    _set_idle_days(30)
    User.objects.filter(pk=hana.pk).update(last_login=_days_ago(31), date_joined=_days_ago(31))
    result = suspend_inactive_users.enqueue()
    assert result.return_value == ["hana"]
    assert User.objects.get(pk=hana.pk).is_suspended


def test_unsuspending_restarts_the_inactivity_clock(hana, admin_ada):
    _set_idle_days(30)
    User.objects.filter(pk=hana.pk).update(last_login=_days_ago(31), date_joined=_days_ago(31))
    services.users_suspend_inactive()
    services.user_unsuspend(user=User.objects.get(pk=hana.pk), actor=admin_ada)
    assert services.users_suspend_inactive() == []


def test_last_activity_is_written_at_most_once_in_five_minutes(
    client, hana, django_assert_num_queries, monkeypatch
):
    client.force_login(hana)
    client.get(reverse("projects:list"))
    first = User.objects.get(pk=hana.pk).last_activity_at
    assert first is not None

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("projects:list"))
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "last_activity" in q["sql"]]
    assert User.objects.get(pk=hana.pk).last_activity_at == first

    later = timezone.now() + timedelta(minutes=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    client.get(reverse("projects:list"))
    assert User.objects.get(pk=hana.pk).last_activity_at == later
