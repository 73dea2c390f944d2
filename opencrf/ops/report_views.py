"""Operations report pages for administrators: the index, monthly and annual, and their PDFs."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from opencrf.accounts.decorators import administrator_required
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import InvalidInput
from opencrf.ops.report_pdf import report_pdf
from opencrf.ops.reports import (
    OperationsReport,
    Period,
    annual_report,
    monthly_report,
    parse_period,
    recent_periods,
    report_charts,
)


@administrator_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """Choose a month or a year; GET ?period=YYYY-MM or YYYY opens that report."""
    chosen = request.GET.get("period", "").strip()[:20]
    error = ""
    if chosen:
        try:
            period = parse_period(chosen)
        except InvalidInput as invalid:
            error = invalid.message
        else:
            if period.month is None:
                return redirect("ops_reports:annual", year=period.year)
            return redirect(period_url(period))
    months, years = recent_periods()
    context = {
        "months": months,
        "years": years,
        "chosen": chosen,
        "error": error,
        "section": "reports",
    }
    return render(request, "ops/reports/index.html", context, status=400 if error else 200)


def period_url(period: Period) -> str:
    """The month's address, with a two-digit month (`/control/reports/2026-01/`)."""
    return reverse(
        "ops_reports:monthly", kwargs={"year": period.year, "month": f"{period.month:02d}"}
    )


def _monthly(year: int, month: int) -> OperationsReport:
    try:
        return monthly_report(year, month)
    except InvalidInput:
        raise Http404 from None


def _annual(year: int) -> OperationsReport:
    try:
        return annual_report(year)
    except InvalidInput:
        raise Http404 from None


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
