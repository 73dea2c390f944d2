"""Issue, find and withdraw API tokens.

A project token is 32 upper-case hexadecimal digits (REDCap's form, which REDCapR checks), a
super token 64. Both are 128 or 256 random bits, so a plain SHA-256 digest is a safe and
indexable way to keep them: the token itself is shown once and never stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.api.models import ApiToken
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights

PROJECT_TOKEN = re.compile(r"^[0-9A-Fa-f]{32}$")
SUPER_TOKEN = re.compile(r"^[0-9A-Fa-f]{64}$")
# last_used_at is written at most this often per token, not on every call.
USE_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.upper().encode("ascii")).hexdigest()


def _new_token(length: int) -> str:
    return secrets.token_hex(length // 2).upper()


def token_find(token: str) -> ApiToken | None:
    """The live token a request presents, or None (malformed, unknown or withdrawn).

    A trailing newline is forgiven, as REDCapR does when it reads a token from a file.
    """
    token = token.removesuffix("\n").strip()
    if not (PROJECT_TOKEN.match(token) or SUPER_TOKEN.match(token)):
        return None
    found = ApiToken.objects.select_related("user", "project").filter(digest=_digest(token)).first()
    if found is None or not found.user.is_active:
        return None
    now = timezone.now()
    if found.last_used_at is None or now - found.last_used_at > USE_RESOLUTION:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found


def project_token(user: User, project: Project) -> ApiToken | None:
    return ApiToken.objects.filter(user=user, project=project).first()


@transaction.atomic
def token_create(*, context: AuditContext, user: User, project: Project) -> str:
    """A new project token for a member (shown once); refused if the member already has one."""
    try:
        rights = member_rights(user, project)
    except NotFound:
        raise InvalidInput(
            _("%(user)s is not a member of this project.") % {"user": user}
        ) from None
    if not (rights.api_export or rights.api_import):
        raise InvalidInput(_("%(user)s has no API rights in this project.") % {"user": user})
    if ApiToken.objects.filter(user=user, project=project).exists():
        raise InvalidInput(
            _("%(user)s already has an API token for this project.") % {"user": user}
        )
    token = _new_token(32)
    ApiToken.objects.create(user=user, project=project, digest=_digest(token), hint=token[-4:])
    _log(context, "api.token_create", "token.created", user, project)
    return token


@transaction.atomic
def token_regenerate(*, context: AuditContext, user: User, project: Project) -> str:
    """Replace a member's token: the old one stops working at once."""
    found = ApiToken.objects.select_for_update().filter(user=user, project=project).first()
    if found is None:
        raise InvalidInput(_("%(user)s has no API token for this project.") % {"user": user})
    token = _new_token(32)
    found.digest, found.hint, found.last_used_at = _digest(token), token[-4:], None
    found.save(update_fields=["digest", "hint", "last_used_at"])
    _log(context, "api.token_regenerate", "token.regenerated", user, project)
    return token


@transaction.atomic
def token_delete(*, context: AuditContext, user: User, project: Project) -> None:
    deleted, _rows = ApiToken.objects.filter(user=user, project=project).delete()
    if not deleted:
        raise InvalidInput(_("%(user)s has no API token for this project.") % {"user": user})
    _log(context, "api.token_delete", "token.deleted", user, project)


@transaction.atomic
def super_token_create(*, context: AuditContext, user: User) -> str:
    """A 64-digit super token for an administrator, replacing any earlier one."""
    if not user.is_superuser:
        raise InvalidInput(_("Only administrators can hold a super token."))
    ApiToken.objects.filter(user=user, project__isnull=True).delete()
    token = _new_token(64)
    ApiToken.objects.create(user=user, project=None, digest=_digest(token), hint=token[-4:])
    security_event_create(
        kind="token.created",
        user=user,
        actor=context.actor,
        address=context.client_address,
        details={"super": True},
    )
    return token


def _log(context: AuditContext, action: str, kind: str, user: User, project: Project) -> None:
    audit_event_create(
        context=context,
        project_id=project.pk,
        action=action,
        details=f"API token of {user.username}",
        changes={"user": ["", user.username]},
    )
    security_event_create(
        kind=kind,
        user=user,
        actor=context.actor,
        address=context.client_address,
        details={"project": project.pk},
    )
