"""Plain-text e-mails about accounts and project requests, in the recipient's language.

Every message is plain text, so names and reasons typed by users stay inert; subjects lose any
line breaks, so nothing typed can add a header. Messages are sent after the surrounding
transaction commits: a refused change sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from opencrf.accounts.models import AccountRequest, User

logger = logging.getLogger(__name__)


def one_line(text: str) -> str:
    """`text` without line breaks or other control characters, for a subject line."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def site_link(path: str) -> str:
    return f"{settings.OPENCRF_SITE_URL}{path}"


def mail_language(language: str) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def _send(to: Iterable[str], subject: str, body: str) -> None:
    recipients = [address for address in to if address]
    if not recipients:
        return
    message = EmailMessage(
        subject=one_line(subject), body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients
    )
    transaction.on_commit(lambda: _deliver(message))


def _deliver(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:
        # The decision stands; the administrator can resend the activation from the user page.
        logger.exception("Could not send e-mail to %s", ", ".join(message.to))


def _signature() -> str:
    return "\n\n-- \nOpenCRF\n" + settings.OPENCRF_SITE_URL + "\n"


def send_request_received(request: AccountRequest) -> None:
    with translation.override(mail_language(request.language)):
        body = _(
            "Dear %(name)s,\n\n"
            "We received a request for an OpenCRF account for this address. An administrator "
            "will review it, and you will receive another message when it has been decided.\n\n"
            "If you did not ask for an account, you can ignore this message."
        ) % {"name": f"{request.last_name} {request.first_name}".strip()}
        _send([request.email], _("We received your account request"), body + _signature())


def send_request_to_administrators(request: AccountRequest) -> None:
    admins = User.objects.filter(is_superuser=True, is_active=True).exclude(email="")
    name = f"{request.last_name} {request.first_name}".strip()
    for admin in admins:
        with translation.override(mail_language(admin.language)):
            body = _(
                "A new account request is waiting for a decision.\n\n"
                "Name: %(name)s\nInstitution: %(institution)s\n\nReview it here:\n%(link)s"
            ) % {
                "name": name,
                "institution": request.institution,
                "link": site_link(reverse("control:account_request", args=[request.pk])),
            }
            subject = _("New account request: %(name)s") % {"name": name}
            _send([admin.email], subject, body + _signature())


def send_request_rejected(request: AccountRequest) -> None:
    with translation.override(mail_language(request.language)):
        body = _(
            "Dear %(name)s,\n\n"
            "Your request for an OpenCRF account was not approved.\n\nReason:\n%(reason)s"
        ) % {"name": f"{request.last_name} {request.first_name}".strip(), "reason": request.reason}
        _send([request.email], _("Your account request was not approved"), body + _signature())


def send_activation(user: User, token: str, expires_at: datetime) -> None:
    with translation.override(mail_language(user.language)):
        body = _(
            "Dear %(name)s,\n\n"
            "An OpenCRF account has been created for you. Your user name is: %(username)s\n\n"
            "Open this link to choose your password and activate the account:\n%(link)s\n\n"
            "The link works once, until %(expires)s."
        ) % {
            "name": user.display_name,
            "username": user.username,
            "link": site_link(reverse("accounts:activate", args=[token])),
            "expires": timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M %Z"),
        }
        _send([user.email], _("Activate your OpenCRF account"), body + _signature())


def send_project_request_decided(
    *, user: User, title: str, approved: bool, reason: str, link: str
) -> None:
    with translation.override(mail_language(user.language)):
        if approved:
            subject = _("Your project request was approved: %(title)s") % {"title": title}
            body = _("Dear %(name)s,\n\nYour project “%(title)s” has been created:\n%(link)s") % {
                "name": user.display_name,
                "title": title,
                "link": site_link(link),
            }
        else:
            subject = _("Your project request was not approved: %(title)s") % {"title": title}
            body = _(
                "Dear %(name)s,\n\nYour request for the project “%(title)s” was not approved."
                "\n\nReason:\n%(reason)s"
            ) % {"name": user.display_name, "title": title, "reason": reason}
        if reason and approved:
            body += "\n\n" + _("Note from the administrator:") + "\n" + reason
        _send([user.email], subject, body + _signature())


def send_project_request_to_administrators(*, title: str, requester: User, path: str) -> None:
    admins = User.objects.filter(is_superuser=True, is_active=True).exclude(email="")
    for admin in admins:
        with translation.override(mail_language(admin.language)):
            body = _(
                "%(name)s (%(username)s) asks for a new project:\n%(title)s\n\n"
                "Review the request here:\n%(link)s"
            ) % {
                "name": requester.display_name,
                "username": requester.username,
                "title": title,
                "link": site_link(path),
            }
            subject = _("New project request: %(title)s") % {"title": title}
            _send([admin.email], subject, body + _signature())
