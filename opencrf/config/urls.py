from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from opencrf.accounts.views import set_language
from opencrf.api.views import api_endpoint
from opencrf.ops import views as ops_views


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links: send them to the static file."""
    return redirect(static("opencrf/favicon.ico"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False)),
    path("accounts/", include("opencrf.accounts.urls")),
    path("control/approvals/", include("opencrf.dictionary.draft_queue_urls")),
    path("control/", include("opencrf.accounts.control_urls", namespace="control")),
    path("control/ops/", include("opencrf.ops.control_urls", namespace="ops_control")),
    path("control/reports/", include("opencrf.ops.report_urls", namespace="ops_reports")),
    path("", include("opencrf.projects.request_urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("projects/", include("opencrf.projects.urls")),
    path("projects/new/", include("opencrf.records.project_new_urls")),
    path("projects/<int:project_id>/design/lock-texts/", include("opencrf.records.lock_text_urls")),
    path("projects/<int:project_id>/design/", include("opencrf.dictionary.urls")),
    path("projects/<int:project_id>/records/", include("opencrf.records.urls")),
    path("projects/<int:project_id>/api/", include("opencrf.api.urls")),
    path("projects/<int:project_id>/reports/", include("opencrf.exports.urls")),
    path("projects/<int:project_id>/import/", include("opencrf.records.import_urls")),
    path("projects/<int:project_id>/surveys/", include("opencrf.surveys.urls")),
    path("projects/<int:project_id>/quality/", include("opencrf.quality.urls")),
    path("projects/<int:project_id>/randomization/", include("opencrf.randomization.urls")),
    path("projects/<int:project_id>/alerts/", include("opencrf.alerts.urls")),
    path("projects/<int:project_id>/calendar/", include("opencrf.scheduling.urls")),
    path("files/", include("opencrf.files.urls")),
    path("surveys/", include("opencrf.surveys.urls_public")),
    path("-/", include("opencrf.ops.urls")),
    path("metrics", ops_views.metrics, name="metrics"),
    path("api/", api_endpoint, name="api"),
    path("favicon.ico", favicon, name="favicon"),
]
