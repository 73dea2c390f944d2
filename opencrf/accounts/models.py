from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in. Accounts are suspended, never deleted, so the audit trail holds."""

    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        help_text=_("Interface language; blank follows the browser."),
    )
    must_change_password = models.BooleanField(
        _("must change password"),
        default=False,
        help_text=_("Set for one-time passwords: the user must choose a new one at next login."),
    )
    institution = models.CharField(_("institution"), max_length=200, blank=True)
    department = models.CharField(_("department"), max_length=200, blank=True)
    position = models.CharField(_("position"), max_length=200, blank=True)
    may_create_projects = models.BooleanField(
        _("may create projects"),
        default=False,
        help_text=_("Internal users create projects; others request one from an administrator."),
    )
    expires_on = models.DateField(_("account expires on"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspended_reason = models.CharField(_("reason for suspension"), max_length=500, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    # Part of the session hash: raising it signs out every other session of the user.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        full = self.get_full_name()
        return full or self.username

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def get_session_auth_hash(self) -> str:
        """Django's hash of the password, salted with the session epoch (see session_epoch)."""
        return salted_hmac(
            "opencrf.accounts.session",
            f"{self.password}:{self.session_epoch}",
            algorithm="sha256",
        ).hexdigest()


class TwoFactorPolicy(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    ADMINISTRATORS = "administrators", _("Administrators only")
    OFF = "off", _("Off")


class SiteSettings(models.Model):
    """Settings an administrator changes in the control centre; one row (pk 1)."""

    internal_email_domains = models.TextField(
        _("internal e-mail domains"),
        blank=True,
        help_text=_("One per line. Users with these addresses may create projects."),
    )
    password_min_length = models.PositiveSmallIntegerField(_("minimum password length"), default=12)
    password_character_classes = models.BooleanField(
        _("require upper- and lower-case letters, digits and symbols"), default=False
    )
    password_max_age_days = models.PositiveIntegerField(
        _("days before a password must be changed"),
        default=0,
        help_text=_("0: never (recommended unless a rule requires rotation)."),
    )
    two_factor = models.CharField(
        _("two-factor authentication"),
        max_length=16,
        choices=TwoFactorPolicy.choices,
        default=TwoFactorPolicy.ADMINISTRATORS,
    )
    lockout_failures = models.PositiveSmallIntegerField(
        _("failed logins before a lockout"), default=5
    )
    lockout_minutes = models.PositiveIntegerField(_("lockout (minutes)"), default=15)
    session_idle_minutes = models.PositiveIntegerField(
        _("sign out after idle (minutes)"), default=30
    )
    session_max_hours = models.PositiveIntegerField(_("longest session (hours)"), default=12)
    suspend_after_days = models.PositiveIntegerField(
        _("suspend accounts unused for (days)"),
        default=180,
        help_text=_("0: never."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def internal_domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.internal_email_domains.split() if d]


class SecurityEvent(models.Model):
    """One entry of the security log: who, from where, when (UTC), what happened."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40, db_index=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="security_events"
    )
    username = models.CharField(max_length=150, blank=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"


class AccountRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class AccountRequest(models.Model):
    """An application for an account, from the public request page; kept after the decision."""

    first_name = models.CharField(_("given name"), max_length=150)
    last_name = models.CharField(_("family name"), max_length=150)
    email = models.EmailField(_("e-mail address"), max_length=254)
    institution = models.CharField(_("institution"), max_length=200)
    department = models.CharField(_("department"), max_length=200, blank=True)
    position = models.CharField(_("position"), max_length=200, blank=True)
    purpose = models.TextField(_("purpose of use"), max_length=2000)
    language = models.CharField(_("language"), max_length=8, blank=True)
    terms_version = models.ForeignKey(
        "accounts.TermsVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AccountRequestStatus.choices,
        default=AccountRequestStatus.PENDING,
    )
    created_at = models.DateTimeField(default=timezone.now)
    address = models.CharField(max_length=64, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=1000, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="account_requests"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("account request")
        verbose_name_plural = _("account requests")

    def __str__(self) -> str:
        return f"{self.last_name} {self.first_name} <{self.email}>"


class TermsVersion(models.Model):
    """One version of the terms of use; the published one with the highest number is in force."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    text_ja = models.TextField(_("text (Japanese)"), max_length=50000, blank=True)
    text_en = models.TextField(_("text (English)"), max_length=50000, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("terms of use version")
        verbose_name_plural = _("terms of use versions")

    def __str__(self) -> str:
        return str(self.number)

    def text_for(self, language: str) -> str:
        """The text in `language`, falling back to the other one when that is blank."""
        if language.startswith("ja"):
            return self.text_ja or self.text_en
        return self.text_en or self.text_ja


class TermsAcceptance(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="terms_acceptances")
    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)
    address = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="terms_accepted_once")
        ]


class ActivationToken(models.Model):
    """A one-time link to set a password. Only a SHA-256 of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="activation_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
