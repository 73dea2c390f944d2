"""Operations reports (/control/reports/): monthly and annual, as pages and PDF."""

from django.urls import URLPattern, URLResolver, path

from opencrf.ops import report_views

app_name = "ops_reports"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", report_views.index, name="index"),
    path("<int:year>-<int:month>/", report_views.monthly, name="monthly"),
    path("<int:year>-<int:month>.pdf", report_views.monthly_pdf, name="monthly_pdf"),
    path("<int:year>/", report_views.annual, name="annual"),
    path("<int:year>.pdf", report_views.annual_pdf, name="annual_pdf"),
]
