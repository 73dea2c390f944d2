"""Who receives an alert's notification, read when it is sent.

Project users (chosen by name or by role) must still be active members; one in a data access
group other than the record's is left out and the log says so — the message carries the
record's data, which such a user may not see. Addresses from the record's e-mail fields are
read from the triggering form instance's event (then any of the record's forms), and fixed
addresses as typed. One address receives one message, in its recipient's language: a user's
own language setting, otherwise the alert's language for recipients who are not users.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone

from opencrf.alerts.models import Alert
from opencrf.projects.models import ProjectMember
from opencrf.records.models import Record

# Why a recipient was left out (kept in the log as these codes, shown translated).
OTHER_GROUP = "[other-group]"
NO_ADDRESS = "[no-address]"
NOT_MEMBER = "[not-member]"
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Recipient:
    to: str
    who: str  # a username, `[field]` for an e-mail field, or "" for a fixed address
    language: str
    left_out: str = ""  # a reason code above when the recipient gets nothing

    def as_log(self, status: str = "", error: str = "") -> dict[str, str]:
        return {
            "to": self.to,
            "who": self.who,
            "language": self.language,
            "status": status,
            "error": error or self.left_out,
        }


def is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return not any(ch in address for ch in "\r\n")


def fixed_addresses(text: str) -> tuple[list[str], list[str]]:
    """The addresses typed (one per line, or separated by commas), and those not valid."""
    words = [word for word in _SEPARATORS.split(text) if word]
    return [w for w in words if is_email(w)], [w for w in words if not is_email(w)]


def _language(code: str, fallback: str) -> str:
    code = (code or "").lower()
    return "ja" if code.startswith("ja") else "en" if code.startswith("en") else fallback


def _members(alert: Alert) -> list[ProjectMember]:
    if not alert.user_ids and not alert.role_ids:
        return []
    today = timezone.localdate()
    chosen = Q(user_id__in=alert.user_ids) | Q(role_id__in=alert.role_ids)
    rows = ProjectMember.objects.filter(
        chosen, Q(expires_on__isnull=True) | Q(expires_on__gte=today), project_id=alert.project_id
    )
    return list(rows.select_related("user").order_by("user__username"))


def _user_recipients(alert: Alert, record: Record) -> list[Recipient]:
    found = []
    for member in _members(alert):
        user = member.user
        language = _language(user.language, alert.language)
        if not user.is_active:
            found.append(Recipient(user.email, user.username, language, NOT_MEMBER))
        elif member.group_id is not None and member.group_id != record.group_id:
            found.append(Recipient(user.email, user.username, language, OTHER_GROUP))
        elif not is_email(user.email):
            found.append(Recipient(user.email, user.username, language, NO_ADDRESS))
        else:
            found.append(Recipient(user.email, user.username, language))
    return found


def _field_recipients(
    alert: Alert, values: Mapping[str, str], forms: Iterable[Mapping[str, str]]
) -> list[Recipient]:
    found = []
    ordered = [values, *forms]
    for name in alert.email_fields:
        address = next(
            (v.get(name, "").strip() for v in ordered if is_email(v.get(name, "").strip())), ""
        )
        reason = "" if address else NO_ADDRESS
        found.append(Recipient(address, f"[{name}]", alert.language, reason))
    return found


def recipients_of(
    alert: Alert,
    record: Record,
    values: Mapping[str, str],
    forms: Iterable[Mapping[str, str]],
) -> list[Recipient]:
    """Everyone the alert names for this record: those to send to, and those left out."""
    everyone = _user_recipients(alert, record)
    everyone += _field_recipients(alert, values, forms)
    addresses, _bad = fixed_addresses(alert.addresses)
    everyone += [Recipient(address, "", alert.language) for address in addresses]
    seen: set[str] = set()
    found = []
    for recipient in everyone:
        if not recipient.left_out:
            if recipient.to.lower() in seen:
                continue
            seen.add(recipient.to.lower())
        found.append(recipient)
    return found
