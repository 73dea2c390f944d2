"""Public account pages: request an account, activate it, and accept the terms of use."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from opencrf.accounts import services
from opencrf.accounts.forms import AccountRequestForm, ActivationForm, TermsAcceptForm
from opencrf.accounts.models import User
from opencrf.accounts.selectors import terms_current, terms_to_accept
from opencrf.core.errors import InvalidInput
from opencrf.core.middleware import client_address


def account_request(request: HttpRequest) -> HttpResponse:
    terms = terms_current()
    form = AccountRequestForm(request.POST or None, terms_required=terms is not None)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "agree"}
        services.account_request_create(
            **values,
            language=get_language() or "",
            terms_version=terms,
            address=client_address(request),
        )
        # The same answer whether or not the address is already known.
        return redirect("accounts:request_sent")
    terms_text = terms.text_for(get_language() or "") if terms is not None else ""
    return render(
        request, "accounts/request.html", {"form": form, "terms": terms, "terms_text": terms_text}
    )


def account_request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/request_sent.html")


@never_cache
def activate(request: HttpRequest, token: str) -> HttpResponse:
    user = services.activation_user(token)
    if user is None:
        return render(request, "accounts/activate_invalid.html", status=404)
    form = ActivationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_activate(
                token=token,
                password=form.cleaned_data["new_password1"],
                address=client_address(request),
            )
        except (InvalidInput, ValidationError):
            return render(request, "accounts/activate_invalid.html", status=404)
        messages.success(request, _("Your account is active. Log in with your new password."))
        return redirect("accounts:login")
    return render(request, "accounts/activate.html", {"form": form, "activated_user": user})


def terms_show(request: HttpRequest) -> HttpResponse:
    terms = terms_current()
    text = terms.text_for(get_language() or "") if terms is not None else ""
    return render(request, "accounts/terms.html", {"terms": terms, "terms_text": text})


@login_required
def terms_accept(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    terms = terms_to_accept(user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if terms is None:
        return redirect(next_url or "projects:list")
    form = TermsAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.terms_accept(user=user, version=terms, address=client_address(request))
        return redirect(next_url or "projects:list")
    context = {
        "form": form,
        "terms": terms,
        "terms_text": terms.text_for(get_language() or ""),
        "next": next_url,
    }
    return render(request, "accounts/terms_accept.html", context)
