"""The security log for administrators: `/control/security-log/`, filtered and paged."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.accounts.decorators import administrator_required
from opencrf.accounts.lockout import lockout_clear, lockouts_current
from opencrf.accounts.models import SecurityEvent, User
from opencrf.accounts.sessions import sessions_end_all
from opencrf.accounts.two_factor import two_factor_disable
from opencrf.core.middleware import client_address

PAGE_SIZE = 50


class SecurityLogFilter(forms.Form):
    user = forms.CharField(label=gettext_lazy("User"), required=False, max_length=150)
    kind = forms.ChoiceField(label=gettext_lazy("Event"), required=False)
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    address = forms.CharField(label=gettext_lazy("Address"), required=False, max_length=64)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        kinds = SecurityEvent.objects.order_by("kind").values_list("kind", flat=True).distinct()
        self.fields["kind"].choices = [("", _("All events"))] + [(k, k) for k in kinds]  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control form-control-sm")


def _day_start(day: date) -> datetime:
    """Midnight of `day` in the site's time zone (dates are typed as the viewer sees them)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def security_events_filtered(data: dict[str, Any]) -> QuerySet[SecurityEvent]:
    events = SecurityEvent.objects.select_related("user", "actor")
    if data.get("user"):
        events = events.filter(username__icontains=data["user"])
    if data.get("kind"):
        events = events.filter(kind=data["kind"])
    if isinstance(data.get("since"), date):
        events = events.filter(at__gte=_day_start(data["since"]))
    if isinstance(data.get("until"), date):
        events = events.filter(at__lt=_day_start(data["until"]) + timedelta(days=1))
    if data.get("address"):
        events = events.filter(address__startswith=data["address"])
    return events.order_by("-at", "-id")


@administrator_required
def security_log(request: HttpRequest) -> HttpResponse:
    """The log (GET, filtered); a POST lifts a lockout or removes a lost second factor."""
    if request.method == "POST" and "two_factor_reset" in request.POST:
        return _two_factor_reset(request)
    if request.method == "POST":
        return _unlock(request)
    form = SecurityLogFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    page = Paginator(security_events_filtered(data), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "zone": timezone.get_current_timezone_name(),
        "lockouts": lockouts_current(),
    }
    return render(request, "accounts/security_log.html", context)


def _unlock(request: HttpRequest) -> HttpResponse:
    username = request.POST.get("username", "")[:150]
    ip_address = request.POST.get("ip_address", "")[:64]
    if bool(username) != bool(ip_address):
        lockout_clear(
            actor=request.user,  # type: ignore[arg-type]
            address=client_address(request),
            username=username,
            ip_address=ip_address,
        )
        messages.success(request, _("Unlocked %(what)s.") % {"what": username or ip_address})
    return redirect("control:security_log")


def _two_factor_reset(request: HttpRequest) -> HttpResponse:
    """A user lost their phone and codes: remove their second factor, end their sessions."""
    username = request.POST.get("two_factor_reset", "").strip()[:150]
    user = User.objects.filter(username=username).first()
    removed = user is not None and two_factor_disable(
        user=user,
        actor=request.user,  # type: ignore[arg-type]
        address=client_address(request),
    )
    if user is not None and removed:
        sessions_end_all(user)
        messages.success(
            request,
            _("The second factor of %(user)s is removed; their sessions have ended.")
            % {"user": username},
        )
    else:
        messages.error(request, _("%(user)s has no second factor to remove.") % {"user": username})
    return redirect("control:security_log")
