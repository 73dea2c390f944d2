from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
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

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        full = self.get_full_name()
        return full or self.username
