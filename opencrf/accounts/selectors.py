from __future__ import annotations

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from opencrf.accounts.models import (
    AccountRequest,
    AccountRequestStatus,
    SiteSettings,
    TermsAcceptance,
    TermsVersion,
    User,
)


def administrators_exist() -> bool:
    return User.objects.filter(is_superuser=True, is_active=True).exists()


def site_settings() -> SiteSettings:
    """The administrator's settings (created with their defaults on first use)."""
    settings, _created = SiteSettings.objects.get_or_create(pk=1)
    return settings


def terms_current() -> TermsVersion | None:
    """The terms of use in force: the published version with the highest number, if any."""
    return TermsVersion.objects.filter(published_at__isnull=False).order_by("-number").first()


def terms_to_accept(user: User) -> TermsVersion | None:
    """The terms in force if `user` has not accepted them yet, else None (one query)."""
    accepted = TermsAcceptance.objects.filter(user=user, version=OuterRef("pk"))
    current = (
        TermsVersion.objects.filter(published_at__isnull=False)
        .annotate(accepted=Exists(accepted))
        .order_by("-number")
        .first()
    )
    if current is None or current.accepted:
        return None
    return current


def email_in_use(email: str) -> bool:
    """Whether an account or a pending account request already has this address."""
    return (
        User.objects.filter(email__iexact=email).exists()
        or AccountRequest.objects.filter(
            email__iexact=email, status=AccountRequestStatus.PENDING
        ).exists()
    )


def user_status(user: User, today: date | None = None) -> str:
    """ "suspended", "expired", "inactive" (never activated) or "active"."""
    today = today or timezone.localdate()
    if user.is_suspended:
        return "suspended"
    if user.expires_on is not None and user.expires_on < today:
        return "expired"
    if not user.has_usable_password():
        return "inactive"
    return "active"


def users_search(query: str = "") -> QuerySet[User]:
    users = User.objects.all()
    for word in query.split()[:5]:
        users = users.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(institution__icontains=word)
        )
    return users.order_by("username")
