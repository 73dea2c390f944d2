"""Writes to accounts: `user_<verb>`, and the security log (`security_event_create`)."""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from opencrf.accounts import mail
from opencrf.accounts.models import (
    AccountRequest,
    AccountRequestStatus,
    ActivationToken,
    SecurityEvent,
    SiteSettings,
    TermsAcceptance,
    TermsVersion,
    User,
)
from opencrf.accounts.selectors import email_in_use, site_settings
from opencrf.core.errors import InvalidInput

_ONE_TIME_ALPHABET = string.ascii_letters + string.digits


def security_event_create(
    *,
    kind: str,
    user: User | None = None,
    username: str = "",
    actor: User | None = None,
    address: str = "",
    details: Mapping[str, Any] | None = None,
) -> SecurityEvent:
    """Add one entry to the security log (UTC time now).

    `kind` is a dotted name such as `login.failed`, `lockout`, `2fa.enrolled`,
    `password.reset`, `account.approved`, `rights.changed`, `token.created`; `user` is the
    account concerned (None for an unknown username, kept in `username`), `actor` who acted
    when not the user (an administrator), `address` the client address
    (`core.middleware.client_address`).
    """
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or (user.username if user is not None else ""))[:150],
        actor=actor,
        address=address[:64],
        details=dict(details or {}),
    )


def one_time_password() -> str:
    """A random 20-character password to be changed at first login."""
    return "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(20))


@transaction.atomic
def user_create_admin(
    *, username: str, email: str, password: str, must_change_password: bool = False
) -> User:
    """Create an administrator, or return the existing one of that name unchanged."""
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    user = User(username=username, email=email, is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except Exception as error:
        raise InvalidInput(" ".join(getattr(error, "messages", [str(error)]))) from None
    user.set_password(password)
    user.must_change_password = must_change_password
    user.save()
    return user


def user_set_language(*, user: User, language: str) -> None:
    """Remember the interface language the user chose ("" follows the browser)."""
    codes = {code for code, _name in settings.LANGUAGES}
    if language and language not in codes:
        raise InvalidInput(_("Unknown language: %(code)s") % {"code": language})
    user.language = language
    user.save(update_fields=["language"])
    if language:
        translation.activate(language)


def user_change_password(*, user: User, password: str) -> None:
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])


# --- Account lifecycle: request → approval → activation; suspension and expiry. ---

ACTIVATION_LIFETIME = timedelta(hours=72)


def _copy_profile_fields() -> tuple[str, ...]:
    return ("first_name", "last_name", "email", "institution", "department", "position")


def _may_create_projects(email: str) -> bool:
    domain = email.rsplit("@", 1)[-1].strip().lower()
    return domain in site_settings().internal_domains()


@transaction.atomic
def account_request_create(
    *,
    first_name: str,
    last_name: str,
    email: str,
    institution: str,
    department: str = "",
    position: str = "",
    purpose: str,
    language: str = "",
    terms_version: TermsVersion | None,
    address: str = "",
) -> AccountRequest | None:
    """Record a request for an account; a job sends a neutral receipt and tells the
    administrators.

    An address already used by an account or a pending request records nothing and sends
    nothing, but enqueues the same job (with no request), so that the caller answers exactly
    as for a new request, and as fast: neither the page nor its timing reveals anything.
    """
    from opencrf.accounts.tasks import send_account_request_mails  # tasks import services

    if email_in_use(email):
        security_event_create(
            kind="account.requested", username="", address=address, details={"duplicate": True}
        )
        send_account_request_mails.enqueue(None)  # the same work as for a new address
        return None
    request = AccountRequest.objects.create(
        first_name=first_name,
        last_name=last_name,
        email=email,
        institution=institution,
        department=department,
        position=position,
        purpose=purpose,
        language=language,
        terms_version=terms_version,
        address=address[:64],
    )
    security_event_create(
        kind="account.requested", address=address, details={"request": request.pk}
    )
    send_account_request_mails.enqueue(request.pk)
    return request


def _pending(request: AccountRequest) -> AccountRequest:
    locked = AccountRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != AccountRequestStatus.PENDING:
        raise InvalidInput(_("This request has already been decided."))
    return locked


def _check_new_username(username: str) -> str:
    username = username.strip()
    field = User._meta.get_field("username")
    try:
        field.run_validators(username)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages)) from None
    if not username:
        raise InvalidInput(_("Choose a user name."))
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("The user name %(name)s is already taken.") % {"name": username})
    return username


@transaction.atomic
def account_request_approve(
    *, request: AccountRequest, actor: User, username: str, address: str = ""
) -> User:
    """Create the account the request asked for and e-mail its activation link."""
    request = _pending(request)
    username = _check_new_username(username)
    if User.objects.filter(email__iexact=request.email).exists():
        raise InvalidInput(_("An account with this e-mail address already exists."))
    user = User(username=username, language=request.language)
    for name in _copy_profile_fields():
        setattr(user, name, getattr(request, name))
    user.may_create_projects = _may_create_projects(request.email)
    user.set_unusable_password()
    user.save()
    if request.terms_version is not None:
        TermsAcceptance.objects.create(
            user=user,
            version=request.terms_version,
            accepted_at=request.created_at,
            address=request.address,
        )
    request.status = AccountRequestStatus.APPROVED
    request.decided_by, request.decided_at, request.user = actor, timezone.now(), user
    request.save(update_fields=["status", "decided_by", "decided_at", "user"])
    security_event_create(
        kind="account.approved",
        user=user,
        actor=actor,
        address=address,
        details={"request": request.pk, "may_create_projects": user.may_create_projects},
    )
    activation_send(user=user)
    return user


@transaction.atomic
def account_request_reject(
    *, request: AccountRequest, actor: User, reason: str, address: str = ""
) -> AccountRequest:
    """Refuse the request; the reason is e-mailed to the requester."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give a reason: it is sent to the person who asked."))
    request = _pending(request)
    request.status = AccountRequestStatus.REJECTED
    request.decided_by, request.decided_at, request.reason = actor, timezone.now(), reason
    request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    security_event_create(
        kind="account.rejected",
        username=request.email,
        actor=actor,
        address=address,
        details={"request": request.pk},
    )
    mail.send_request_rejected(request)
    return request


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    institution: str = "",
    department: str = "",
    position: str = "",
    language: str = "",
    expires_on: date | None = None,
    may_create_projects: bool | None = None,
    address: str = "",
) -> User:
    """An administrator creates an account directly; its activation link is e-mailed."""
    username = _check_new_username(username)
    if User.objects.filter(email__iexact=email).exists():
        raise InvalidInput(_("An account with this e-mail address already exists."))
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        institution=institution,
        department=department,
        position=position,
        language=language,
        expires_on=expires_on,
        may_create_projects=(
            _may_create_projects(email) if may_create_projects is None else may_create_projects
        ),
    )
    user.set_unusable_password()
    user.save()
    security_event_create(
        kind="account.created",
        user=user,
        actor=actor,
        address=address,
        details={"may_create_projects": user.may_create_projects},
    )
    activation_send(user=user)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@transaction.atomic
def activation_send(*, user: User, now: datetime | None = None) -> str:
    """Issue a new one-time activation link (earlier ones stop working) and e-mail it."""
    now = now or timezone.now()
    ActivationToken.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + ACTIVATION_LIFETIME
    ActivationToken.objects.create(
        user=user, token_hash=_token_hash(token), created_at=now, expires_at=expires_at
    )
    mail.send_activation(user, token, expires_at)
    return token


def activation_user(token: str, now: datetime | None = None) -> User | None:
    """The user a still-valid activation token belongs to, else None."""
    now = now or timezone.now()
    found = (
        ActivationToken.objects.filter(
            token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=now
        )
        .select_related("user")
        .first()
    )
    return found.user if found is not None else None


@transaction.atomic
def user_activate(
    *, token: str, password: str, address: str = "", now: datetime | None = None
) -> User:
    """Set the first password through an activation link; the link then stops working."""
    now = now or timezone.now()
    found = (
        ActivationToken.objects.select_for_update()
        .filter(token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if found is None:
        raise InvalidInput(_("This activation link is invalid, used or expired."))
    user = User.objects.select_for_update().get(pk=found.user_id)
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = now
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    found.used_at = now
    found.save(update_fields=["used_at"])
    security_event_create(kind="account.activated", user=user, address=address)
    return user


PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "institution",
    "department",
    "position",
    "language",
    "expires_on",
    "may_create_projects",
)


@transaction.atomic
def user_update(
    *, user: User, actor: User, values: Mapping[str, Any], address: str = ""
) -> dict[str, list[str]]:
    """Change a user's profile, expiry or project creation; returns {field: [old, new]}."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))})
    email = values.get("email", user.email)
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise InvalidInput(_("An account with this e-mail address already exists."))
    changes = {
        name: [str(getattr(user, name)), str(value)]
        for name, value in values.items()
        if getattr(user, name) != value
    }
    for name, value in values.items():
        setattr(user, name, value)
    if changes:
        user.save(update_fields=list(changes))
        security_event_create(
            kind="account.changed", user=user, actor=actor, address=address, details=changes
        )
    return changes


@transaction.atomic
def user_suspend(
    *,
    user: User,
    actor: User | None,
    reason: str,
    address: str = "",
    kind: str = "account.suspended",
    now: datetime | None = None,
) -> bool:
    """Suspend the account and end its sessions; False if it was already suspended."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_suspended:
        return False
    user.suspended_at = now or timezone.now()
    user.suspended_reason = reason.strip()[:500]
    user.session_epoch = locked.session_epoch + 1
    user.save(update_fields=["suspended_at", "suspended_reason", "session_epoch"])
    security_event_create(
        kind=kind,
        user=user,
        actor=actor,
        address=address,
        details={"reason": user.suspended_reason},
    )
    return True


@transaction.atomic
def user_unsuspend(*, user: User, actor: User, address: str = "") -> bool:
    """Lift a suspension; the inactivity clock starts again now. False if not suspended."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.is_suspended:
        return False
    user.suspended_at, user.suspended_reason = None, ""
    user.last_activity_at = timezone.now()
    user.save(update_fields=["suspended_at", "suspended_reason", "last_activity_at"])
    security_event_create(kind="account.unsuspended", user=user, actor=actor, address=address)
    return True


def users_suspend_inactive(*, now: datetime | None = None) -> list[User]:
    """Suspend accounts past their expiry date or unused for SiteSettings.suspend_after_days.

    Idempotent: suspended accounts are left alone. Administrators are never suspended
    automatically, so the job cannot lock the site's last administrator out.
    Returns the accounts suspended by this run.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    candidates = User.objects.filter(suspended_at__isnull=True, is_superuser=False)
    suspended = []
    for user in candidates.filter(expires_on__lt=today):
        if user_suspend(
            user=user, actor=None, reason=_("Account expired"), kind="account.expired", now=now
        ):
            suspended.append(user)
    days = site_settings().suspend_after_days
    if days:
        cutoff = now - timedelta(days=days)
        last_seen = Greatest(
            Coalesce("last_login", "date_joined"),
            Coalesce("last_activity_at", "date_joined"),
            "date_joined",
        )
        idle = candidates.filter(suspended_at__isnull=True).alias(seen=last_seen)
        for user in idle.filter(seen__lt=cutoff):
            reason = _("No login for %(days)d days") % {"days": days}
            if user_suspend(user=user, actor=None, reason=reason, now=now):
                suspended.append(user)
    return suspended


# --- Terms of use. ---


@transaction.atomic
def terms_create(*, actor: User, text_ja: str, text_en: str) -> TermsVersion:
    """A new draft version of the terms, numbered after the last one."""
    if not (text_ja.strip() or text_en.strip()):
        raise InvalidInput(_("Write the terms in at least one language."))
    last = TermsVersion.objects.select_for_update().order_by("-number").first()
    number = (last.number if last is not None else 0) + 1
    return TermsVersion.objects.create(
        number=number, text_ja=text_ja, text_en=text_en, created_by=actor
    )


@transaction.atomic
def terms_publish(*, version: TermsVersion, actor: User, address: str = "") -> TermsVersion:
    """Put a draft in force: every user accepts it before using the site again."""
    version = TermsVersion.objects.select_for_update().get(pk=version.pk)
    if version.published_at is not None:
        raise InvalidInput(_("This version is already published."))
    newer = TermsVersion.objects.filter(number__gt=version.number, published_at__isnull=False)
    if newer.exists():
        raise InvalidInput(_("A newer version is already published."))
    version.published_at = timezone.now()
    version.save(update_fields=["published_at"])
    security_event_create(
        kind="terms.published", actor=actor, address=address, details={"version": version.number}
    )
    return version


@transaction.atomic
def terms_accept(*, user: User, version: TermsVersion, address: str = "") -> TermsAcceptance:
    """Record that `user` accepted `version` (once; accepting again changes nothing)."""
    acceptance, created = TermsAcceptance.objects.get_or_create(
        user=user, version=version, defaults={"address": address[:64]}
    )
    if created:
        security_event_create(
            kind="terms.accepted", user=user, address=address, details={"version": version.number}
        )
    return acceptance


@transaction.atomic
def site_settings_update(
    *, values: Mapping[str, Any], actor: User, address: str = ""
) -> dict[str, list[str]]:
    """Change the administrator's site settings; returns {field: [old, new]} for what changed."""
    current = SiteSettings.objects.select_for_update().get(pk=site_settings().pk)
    editable = {
        f.name for f in SiteSettings._meta.get_fields() if f.name not in ("id", "updated_at")
    }
    unknown = set(values) - editable
    if unknown:
        raise InvalidInput(_("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))})
    changes = {
        name: [str(getattr(current, name)), str(value)]
        for name, value in values.items()
        if getattr(current, name) != value
    }
    if changes:
        for name in changes:
            setattr(current, name, values[name])
        current.save()
        security_event_create(
            kind="settings.changed", actor=actor, address=address, details=changes
        )
    return changes
