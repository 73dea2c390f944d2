"""Operations reports (/control/reports/): monthly and annual, as pages and PDF."""

from django.urls import URLPattern, URLResolver, path, re_path

from opencrf.ops import report_views

app_name = "ops_reports"

YEAR = r"(?P<year>[0-9]{4})"
MONTH = r"(?P<month>[0-9]{2})"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", report_views.index, name="index"),
    re_path(rf"^{YEAR}-{MONTH}/$", report_views.monthly, name="monthly"),
    re_path(rf"^{YEAR}-{MONTH}\.pdf$", report_views.monthly_pdf, name="monthly_pdf"),
    re_path(rf"^{YEAR}/$", report_views.annual, name="annual"),
    re_path(rf"^{YEAR}\.pdf$", report_views.annual_pdf, name="annual_pdf"),
]
