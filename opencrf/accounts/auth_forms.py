"""Forms of signing in: the password step, the code step, re-authentication, e-mail."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from opencrf.accounts.services import security_event_create
from opencrf.accounts.site_cache import current_site_settings
from opencrf.accounts.tasks import send_password_reset
from opencrf.core.middleware import client_address


def sign_in_refused_message() -> str:
    """One message for a wrong password, an unknown name and a locked or disabled account."""
    policy = current_site_settings()
    return _(
        "Your username or password is incorrect, or the account is locked. "
        "After %(failures)d failed attempts, signing in is blocked for %(minutes)d minutes."
    ) % {"failures": policy.lockout_failures, "minutes": policy.lockout_minutes}


class LoginForm(AuthenticationForm):
    def get_invalid_login_error(self) -> ValidationError:
        return ValidationError(sign_in_refused_message(), code="invalid_login")

    def confirm_login_allowed(self, user: Any) -> None:
        if not user.is_active:
            raise self.get_invalid_login_error()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        strip=True,
        help_text=gettext_lazy(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "class": "form-control"}
        ),
    )


class ReauthForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "class": "form-control"}
        ),
    )

    def __init__(self, *args: Any, with_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_code:
            self.fields["code"] = CodeForm.base_fields["code"]


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "form-control"}),
    )


class LoggedPasswordResetForm(PasswordResetForm):
    """Django's reset form, leaving a `password.reset_requested` entry in the security log.

    The e-mail is sent by a job after the response (accounts/tasks.py), enqueued alike for
    known and unknown addresses, so that response times reveal nothing.
    """

    def save(self, *args: Any, **kwargs: Any) -> None:
        request = kwargs.get("request")
        email = self.cleaned_data["email"]
        matches = list(self.get_users(email))
        security_event_create(
            kind="password.reset_requested",
            user=matches[0] if len(matches) == 1 else None,
            username="" if matches else email,
            address=client_address(request) if request is not None else "",
            details={"accounts": len(matches)},
        )
        send_password_reset.enqueue(
            email,
            get_language() or "",
            kwargs.get("email_template_name", "accounts/email/password_reset.txt"),
            kwargs.get("subject_template_name", "accounts/email/password_reset_subject.txt"),
        )
