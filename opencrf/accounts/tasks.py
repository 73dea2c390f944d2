"""Background jobs of the accounts app (Django Tasks; run by the worker).

E-mails answering a visitor (password reset, account request) are sent here, after the
response: a request for a known and for an unknown address then does the same work (one
lookup, one security-log entry, one job enqueued) and answers equally fast, so response times
cannot tell which addresses have accounts.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation
from django_tasks import task

from opencrf.accounts import mail
from opencrf.accounts.models import AccountRequest
from opencrf.accounts.services import users_suspend_inactive


@task()
def suspend_inactive_users() -> list[str]:
    """Suspend expired and long-unused accounts; returns the user names suspended.

    Idempotent: enqueue it as often as you like (daily is enough), e.g. from cron with
    `opencrf manage suspend_inactive_users --enqueue`.
    """
    return [user.username for user in users_suspend_inactive()]


@task()
def send_password_reset(
    email: str, language: str, email_template_name: str, subject_template_name: str
) -> None:
    """E-mail a reset link to each active account with a usable password at `email` (Django's
    rules); nothing when there is none. Links point at OPENCRF_SITE_URL, never at a Host
    header."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    site = urlsplit(settings.OPENCRF_SITE_URL)
    with translation.override(mail.mail_language(language)):
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            email_template_name=email_template_name,
            subject_template_name=subject_template_name,
        )


@task()
def send_account_request_mails(request_id: int | None) -> None:
    """The receipt to the requester and the notice to administrators; nothing for None (an
    address already known, for which the request page answers all the same)."""
    request = AccountRequest.objects.filter(pk=request_id).first() if request_id else None
    if request is None:
        return
    mail.send_request_received(request)
    mail.send_request_to_administrators(request)
