"""Operations report pages for administrators: the index, monthly and annual, and their PDFs."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from opencrf.accounts.decorators import administrator_required
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import InvalidInput
from opencrf.ops.report_pdf import report_pdf
from opencrf.ops.reports import (
    OperationsReport,
    Period,
    annual_report,
    instance_began,
    monthly_report,
    parse_period,
    period_before_instance,
    recent_periods,
    report_charts,
)


@administrator_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """Choose a month or a year; GET ?period=YYYY-MM or YYYY opens that report.

    Only periods since the instance began are listed; earlier ones have no report (404).
    """
    chosen = request.GET.get("period", "").strip()[:20]
    began = instance_began()
    period, error = _choice(chosen, began) if chosen else (None, "")
    if period is not None:
        if period.month is None:
            return redirect("ops_reports:annual", year=period.year)
        return redirect(period_url(period))
    months, years = recent_periods(since=began)
    context = {
        "months": months,
        "years": years,
        "chosen": chosen,
        "error": error,
        "section": "reports",
    }
    return render(request, "ops/reports/index.html", context, status=400 if error else 200)


def _choice(text: str, began: date | None) -> tuple[Period | None, str]:
    """The chosen period, or why it has no report."""
    try:
        period = parse_period(text)
    except InvalidInput as invalid:
        return None, invalid.message
    if period_before_instance(period, began):
        message = _("There is no report for %(period)s: this instance began on %(day)s.")
        return None, message % {"period": period.label, "day": began}
    return period, ""


def period_url(period: Period) -> str:
    """The month's address, with a two-digit month (`/control/reports/2026-01/`)."""
    return reverse(
        "ops_reports:monthly", kwargs={"year": period.year, "month": f"{period.month:02d}"}
    )


def _existing(year: int, month: int | None = None) -> Period:
    """The period, if it is valid and not wholly before this instance began; else 404."""
    try:
        period = Period(year, month)
    except InvalidInput:
        raise Http404 from None
    if period_before_instance(period):
        raise Http404
    return period


def _monthly(year: int, month: int) -> OperationsReport:
    _existing(year, month)
    return monthly_report(year, month)


def _annual(year: int) -> OperationsReport:
    _existing(year)
    return annual_report(year)


def _page(request: HttpRequest, report: OperationsReport) -> HttpResponse:
    charts = [(spec, spec.svg()) for spec in report_charts(report)]
    context = {"report": report, "charts": charts, "section": "reports"}
    return render(request, "ops/reports/report.html", context)


def _pdf(report: OperationsReport) -> HttpResponse:
    response = HttpResponse(report_pdf(report, language=get_language()), "application/pdf")
    name = f"opencrf-operations-report-{report.period.label}.pdf"
    response["Content-Disposition"] = content_disposition(name)
    return response


@administrator_required
@require_safe
def monthly(request: HttpRequest, year: int, month: int) -> HttpResponse:
    return _page(request, _monthly(year, month))


@administrator_required
@require_safe
def annual(request: HttpRequest, year: int) -> HttpResponse:
    return _page(request, _annual(year))


@administrator_required
@require_safe
def monthly_pdf(request: HttpRequest, year: int, month: int) -> HttpResponse:
    return _pdf(_monthly(year, month))


@administrator_required
@require_safe
def annual_pdf(request: HttpRequest, year: int) -> HttpResponse:
    return _pdf(_annual(year))
