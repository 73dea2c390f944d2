"""Signing in and out, two-factor authentication, password reset and the account page.

Login is two steps: the password (Django's LoginView), then, for a user with an
authenticator, the code. Between the two the session is signed in but not verified, and
`TwoFactorMiddleware` lets it reach only the sign-in pages; where the policy requires a
second factor and the user has none, the only page open is enrolment.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from opencrf.accounts import lockout, sessions, two_factor
from opencrf.accounts.auth_forms import (
    CodeForm,
    EmailForm,
    LoggedPasswordResetForm,
    LoginForm,
    ReauthForm,
    sign_in_refused_message,
)
from opencrf.accounts.middleware import TWO_FACTOR_PENDING
from opencrf.accounts.models import User
from opencrf.accounts.services import (
    security_event_create,
    user_change_password,
    user_set_language,
)
from opencrf.accounts.site_cache import current_site_settings
from opencrf.accounts.typing import AuthedRequest
from opencrf.core.middleware import client_address

NEXT_AFTER_LOGIN = "opencrf_login_next"


def _next_url(request: HttpRequest) -> str:
    return str(
        request.session.pop(NEXT_AFTER_LOGIN, "") or resolve_url(settings.LOGIN_REDIRECT_URL)
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        wanted, {request.get_host()}, require_https=request.is_secure()
    )
    return wanted if allowed else default


def _login_complete(request: HttpRequest, user: User, method: str) -> HttpResponse:
    request.session.pop(TWO_FACTOR_PENDING, None)
    security_event_create(
        kind="login", user=user, address=client_address(request), details={"second_factor": method}
    )
    return redirect(_next_url(request))


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        auth_login(self.request, user)
        self.request.session[NEXT_AFTER_LOGIN] = self.get_success_url()
        if two_factor.two_factor_enrolled(user):
            self.request.session[TWO_FACTOR_PENDING] = True
            return redirect("accounts:two_factor_verify")
        if two_factor.two_factor_required(user):
            return redirect("accounts:two_factor_enrol")
        return _login_complete(self.request, user, "none")


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


def _refuse_locked(request: HttpRequest) -> HttpResponse:
    """The account got locked during the code step: back to the start, same message."""
    request.logout_reason = "locked"  # type: ignore[attr-defined]
    logout(request)
    messages.error(request, sign_in_refused_message())
    return redirect("accounts:login")


def _code_failed(request: HttpRequest, user: User) -> bool:
    """Log and count a wrong code; True when it locked the account."""
    security_event_create(kind="2fa.failed", user=user, address=client_address(request))
    lockout.failure_record(request, user.username)
    return lockout.is_locked_out(request, user.username)


@login_required
def two_factor_verify(request: AuthedRequest) -> HttpResponse:
    """The second step of login: a code from the app, or a recovery code."""
    user = request.user
    if user.is_verified():  # type: ignore[attr-defined]
        return redirect(_next_url(request))
    if not request.session.get(TWO_FACTOR_PENDING):
        return redirect("accounts:two_factor_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if lockout.is_locked_out(request, user.username):
            return _refuse_locked(request)
        if two_factor.two_factor_verify(request, user, form.cleaned_data["code"]):
            request.session.cycle_key()
            sessions.mark_authenticated(request)
            method = "recovery" if user.otp_device.name == "recovery" else "totp"  # type: ignore[attr-defined]
            return _login_complete(request, user, method)
        if _code_failed(request, user):
            return _refuse_locked(request)
        form.add_error("code", _("That code is not valid. Try the next one from your app."))
    return render(request, "accounts/two_factor_verify.html", {"form": form})


@login_required
@sessions.recent_auth_required
def two_factor_enrol(request: AuthedRequest) -> HttpResponse:
    """Enrol an authenticator app (or replace one): QR code, secret, a code to confirm."""
    user = request.user
    if two_factor.two_factor_enrolled(user) and not user.is_verified():  # type: ignore[attr-defined]
        # Replacing a device takes the current one first.
        request.session[TWO_FACTOR_PENDING] = True
        return redirect("accounts:two_factor_verify")
    device = two_factor.totp_enrolment_start(user)
    form = CodeForm(request.POST or None)
    form.fields["code"].help_text = _("The 6-digit code your authenticator app shows.")
    if request.method == "POST" and form.is_valid():
        codes = two_factor.totp_enrolment_confirm(
            user=user,
            device=device,
            code=form.cleaned_data["code"],
            address=client_address(request),
        )
        if codes is not None:
            return _enrolled(request, user, device, codes)
        form.add_error(
            "code", _("That code is not valid. Check the time on your phone and try again.")
        )
    uri = two_factor.totp_uri(device)
    context = {
        "form": form,
        "qr_code": two_factor.qr_code_data_uri(uri),
        "secret": two_factor.totp_secret_base32(device),
        "required": two_factor.two_factor_required(user)
        and not two_factor.two_factor_enrolled(user),
    }
    return render(request, "accounts/two_factor_enrol.html", context)


def _enrolled(request: AuthedRequest, user: User, device: Any, codes: list[str]) -> HttpResponse:
    signing_in = NEXT_AFTER_LOGIN in request.session
    sessions.sessions_revoke_others(request, user)
    otp_login(request, device)
    sessions.mark_authenticated(request)
    if signing_in:
        security_event_create(
            kind="login",
            user=user,
            address=client_address(request),
            details={"second_factor": "totp"},
        )
    continue_to = _next_url(request) if signing_in else resolve_url("accounts:me")
    return render(
        request, "accounts/two_factor_codes.html", {"codes": codes, "continue_to": continue_to}
    )


@require_POST
@login_required
@sessions.recent_auth_required
def recovery_codes_regenerate(request: AuthedRequest) -> HttpResponse:
    if not two_factor.two_factor_enrolled(request.user):
        return redirect("accounts:me")
    codes = two_factor.recovery_codes_create(user=request.user)
    security_event_create(
        kind="2fa.recovery_codes", user=request.user, address=client_address(request)
    )
    return render(
        request,
        "accounts/two_factor_codes.html",
        {"codes": codes, "continue_to": resolve_url("accounts:me")},
    )


@require_POST
@login_required
@sessions.recent_auth_required
def two_factor_disable(request: AuthedRequest) -> HttpResponse:
    if two_factor.two_factor_disable(user=request.user, address=client_address(request)):
        sessions.sessions_revoke_others(request, request.user)
        messages.success(request, _("Two-factor authentication is off for your account."))
    return redirect("accounts:me")


@login_required
def reauth(request: AuthedRequest) -> HttpResponse:
    """Confirm the password (and a code, when enrolled) before a sensitive change."""
    user = request.user
    with_code = two_factor.two_factor_enrolled(user)
    form = ReauthForm(request.POST or None, with_code=with_code)
    if request.method == "POST" and form.is_valid():
        if _reauth_passes(request, user, form.cleaned_data, with_code=with_code):
            request.session.cycle_key()
            sessions.mark_authenticated(request)
            return redirect(_safe_next(request, resolve_url("accounts:me")))
        form.add_error(None, sign_in_refused_message())
    return render(request, "accounts/reauth.html", {"form": form, "next": _safe_next(request, "")})


def _reauth_passes(
    request: AuthedRequest, user: User, data: dict[str, Any], *, with_code: bool
) -> bool:
    if authenticate(request, username=user.username, password=data["password"]) is None:
        return False
    if not with_code or two_factor.two_factor_verify(request, user, data["code"]):
        return True
    _code_failed(request, user)
    return False


@login_required
@sessions.recent_auth_required
def password_change(request: AuthedRequest) -> HttpResponse:
    form = SetPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_change_password(user=request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, request.user)
        security_event_create(
            kind="password.changed", user=request.user, address=client_address(request)
        )
        messages.success(request, _("Your password has been changed."))
        return redirect("projects:list")
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
def me(request: AuthedRequest) -> HttpResponse:
    """The account page: profile, e-mail, language and security."""
    user = request.user
    context = {
        "enrolled": two_factor.two_factor_enrolled(user),
        "required": two_factor.two_factor_required(user),
        "codes_left": two_factor.recovery_codes_left(user),
        "email_form": EmailForm(initial={"email": user.email}),
        "policy": current_site_settings(),
    }
    return render(request, "accounts/me.html", context)


@login_required
@sessions.recent_auth_required
def email_change(request: AuthedRequest) -> HttpResponse:
    form = EmailForm(request.POST or None, initial={"email": request.user.email})
    if request.method == "POST" and form.is_valid():
        user = request.user
        old = user.email
        user.email = form.cleaned_data["email"]
        user.save(update_fields=["email"])
        security_event_create(
            kind="email.changed",
            user=user,
            address=client_address(request),
            details={"old": old, "new": user.email},
        )
        messages.success(request, _("Your e-mail address has been changed."))
        return redirect("accounts:me")
    return render(request, "accounts/email_change.html", {"form": form})


@require_POST
@login_required
def sessions_sign_out_others(request: AuthedRequest) -> HttpResponse:
    sessions.sessions_revoke_others(request, request.user)
    messages.success(request, _("Your other sessions have been signed out."))
    return redirect("accounts:me")


@require_POST
@login_required
def keep_alive(request: HttpRequest) -> HttpResponse:
    """The idle warning's "Stay signed in": counts as activity, answers the seconds left."""
    sessions.session_touch(request, force=True)
    return JsonResponse({"seconds_left": sessions.seconds_left(request)})


class PasswordResetView(auth_views.PasswordResetView):
    form_class = LoggedPasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password from the e-mailed link; it signs no one in, so 2FA still applies."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False

    def form_valid(self, form: SetPasswordForm[User]) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        User.objects.filter(pk=user.pk).update(
            session_epoch=user.session_epoch + 1, must_change_password=False
        )
        security_event_create(
            kind="password.reset", user=user, address=client_address(self.request)
        )
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; remembered on the account and in a cookie."""
    from django.views.i18n import set_language as django_set_language

    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_set_language(user=request.user, language=language)
    response = django_set_language(request)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        return redirect("projects:list")
    return response
