"""Control centre pages for administrators: accounts, approvals, terms and site settings.

Thin views: parse the form, call a service in accounts.services, render. Every view is
`administrator_required` (a 404 for anyone else) and every change needs POST.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from opencrf.accounts import selectors, services
from opencrf.accounts.decorators import administrator_required
from opencrf.accounts.forms import (
    ApproveForm,
    RejectForm,
    SiteSettingsForm,
    SuspendForm,
    TermsVersionForm,
    UserCreateForm,
    UserEditForm,
)
from opencrf.accounts.models import (
    AccountRequest,
    AccountRequestStatus,
    SecurityEvent,
    TermsAcceptance,
    TermsVersion,
    User,
)
from opencrf.core.errors import InvalidInput
from opencrf.core.middleware import client_address

STATUS_LABELS = {
    "active": gettext_lazy("Active"),
    "suspended": gettext_lazy("Suspended"),
    "expired": gettext_lazy("Expired"),
    "inactive": gettext_lazy("Not activated"),
}


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(request: HttpRequest, items: Any, size: int = 50) -> Any:
    return Paginator(items, size).get_page(request.GET.get("page"))


@administrator_required
def control_home(request: HttpRequest) -> HttpResponse:
    return redirect("control:users")


# --- Users ---


@administrator_required
def users_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    page = _page(request, selectors.users_search(query))
    rows = [(user, selectors.user_status(user)) for user in page]
    context = {"page": page, "rows": rows, "query": query, "section": "users"}
    return render(request, "control/users.html", context)


@administrator_required
def user_new(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                actor=_admin(request), address=client_address(request), **form.cleaned_data
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Account created; the activation e-mail is on its way."))
            return redirect("control:user", user_id=user.pk)
    return render(request, "control/user_new.html", {"form": form, "section": "users"})


@administrator_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    form = UserEditForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        user.refresh_from_db()
        try:
            services.user_update(
                user=user, actor=_admin(request), values=values, address=client_address(request)
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Account saved."))
            return redirect("control:user", user_id=user.pk)
    context = {
        "account": user,
        "status": selectors.user_status(user),
        "status_labels": STATUS_LABELS,
        "form": form,
        "suspend_form": SuspendForm(),
        "acceptances": TermsAcceptance.objects.filter(user=user).select_related("version")[:10],
        "events": SecurityEvent.objects.filter(user=user).select_related("actor")[:20],
        "section": "users",
    }
    return render(request, "control/user_detail.html", context)


@administrator_required
@require_POST
def user_suspend(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the suspension."))
    elif user.pk == request.user.pk:
        messages.error(request, _("You cannot suspend your own account."))
    else:
        services.user_suspend(
            user=user,
            actor=_admin(request),
            reason=form.cleaned_data["reason"],
            address=client_address(request),
        )
        messages.success(request, _("Account suspended; its sessions have ended."))
    return redirect("control:user", user_id=user.pk)


@administrator_required
@require_POST
def user_unsuspend(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    services.user_unsuspend(user=user, actor=_admin(request), address=client_address(request))
    messages.success(request, _("Suspension lifted."))
    return redirect("control:user", user_id=user.pk)


@administrator_required
@require_POST
def user_resend_activation(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    if user.has_usable_password():
        messages.error(request, _("This account is already activated."))
    else:
        services.activation_send(user=user)
        messages.success(request, _("A new activation e-mail is on its way."))
    return redirect("control:user", user_id=user.pk)


# --- Account requests ---


@administrator_required
def account_requests(request: HttpRequest) -> HttpResponse:
    pending = AccountRequest.objects.filter(status=AccountRequestStatus.PENDING)
    decided = AccountRequest.objects.exclude(status=AccountRequestStatus.PENDING)
    context = {
        "pending": pending.order_by("created_at"),
        "decided": _page(request, decided.select_related("decided_by")),
        "section": "account_requests",
    }
    return render(request, "control/account_requests.html", context)


@administrator_required
def account_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    account_request = get_object_or_404(AccountRequest, pk=request_id)
    suggested = account_request.email.split("@", 1)[0][:150]
    approve = ApproveForm(initial={"username": suggested})
    reject = RejectForm()
    if request.method == "POST":
        if account_request.status != AccountRequestStatus.PENDING:
            raise Http404
        action = request.POST.get("action")
        if action == "approve":
            approve = ApproveForm(request.POST)
            if approve.is_valid():
                return _approve(request, account_request, approve)
        elif action == "reject":
            reject = RejectForm(request.POST)
            if reject.is_valid():
                return _reject(request, account_request, reject)
    context = {
        "account_request": account_request,
        "approve_form": approve,
        "reject_form": reject,
        "section": "account_requests",
    }
    return render(request, "control/account_request.html", context)


def _approve(
    request: HttpRequest, account_request: AccountRequest, form: ApproveForm
) -> HttpResponse:
    try:
        user = services.account_request_approve(
            request=account_request,
            actor=_admin(request),
            username=form.cleaned_data["username"],
            address=client_address(request),
        )
    except InvalidInput as error:
        form.add_error("username", error.message)
        context = {
            "account_request": account_request,
            "approve_form": form,
            "reject_form": RejectForm(),
            "section": "account_requests",
        }
        return render(request, "control/account_request.html", context)
    messages.success(request, _("Request approved; the activation e-mail is on its way."))
    return redirect("control:user", user_id=user.pk)


def _reject(
    request: HttpRequest, account_request: AccountRequest, form: RejectForm
) -> HttpResponse:
    services.account_request_reject(
        request=account_request,
        actor=_admin(request),
        reason=form.cleaned_data["reason"],
        address=client_address(request),
    )
    messages.success(request, _("Request rejected; the reason has been sent."))
    return redirect("control:account_requests")


# --- Terms of use ---


@administrator_required
def terms_list(request: HttpRequest) -> HttpResponse:
    form = TermsVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.terms_create(actor=_admin(request), **form.cleaned_data)
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Draft saved. Publish it to put it in force."))
            return redirect("control:terms_version", version_id=version.pk)
    if request.method == "GET":
        latest = TermsVersion.objects.order_by("-number").first()
        if latest is not None:
            form = TermsVersionForm(initial={"text_ja": latest.text_ja, "text_en": latest.text_en})
    context = {
        "versions": TermsVersion.objects.select_related("created_by"),
        "current": selectors.terms_current(),
        "form": form,
        "section": "terms",
    }
    return render(request, "control/terms.html", context)


@administrator_required
def terms_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(TermsVersion, pk=version_id)
    if request.method == "POST":
        try:
            services.terms_publish(
                version=version, actor=_admin(request), address=client_address(request)
            )
        except InvalidInput as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Published: every user accepts it at their next page."))
        return redirect("control:terms_version", version_id=version.pk)
    context = {
        "version": version,
        "acceptance_count": TermsAcceptance.objects.filter(version=version).count(),
        "section": "terms",
    }
    return render(request, "control/terms_version.html", context)


# --- Site settings ---


@administrator_required
def site_settings_edit(request: HttpRequest) -> HttpResponse:
    current = selectors.site_settings()
    form = SiteSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        changes = services.site_settings_update(
            values=form.cleaned_data, actor=_admin(request), address=client_address(request)
        )
        messages.success(request, _("Settings saved.") if changes else _("Nothing changed."))
        return redirect("control:settings")
    return render(request, "control/settings.html", {"form": form, "section": "settings"})
