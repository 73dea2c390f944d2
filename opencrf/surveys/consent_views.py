"""E-consent pages: the participant's consent page (public, reached by the response's token)
and the staff list of a record's consents with their PDFs. The work is in `econsent`."""

from __future__ import annotations

import hmac
from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from opencrf.accounts.models import User
from opencrf.accounts.typing import AuthedRequest
from opencrf.core.downloads import content_disposition
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.middleware import client_address
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.files.checks import FileRefused
from opencrf.files.views import file_response
from opencrf.projects.selectors import access_project
from opencrf.records.errors import SaveConflict
from opencrf.records.page_hooks import RecordPage
from opencrf.surveys import econsent, ratelimit
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.public_page import survey_page
from opencrf.surveys.respond import required_unanswered, response_language
from opencrf.surveys.selectors import response_by_token
from opencrf.surveys.services import respondent_context
from opencrf.surveys.views_public import SESSION_COOKIE, SESSION_SALT


def _language(response: SurveyResponse, request: HttpRequest) -> str:
    """The page's language: as asked (?lang=), else the participant's choice, else the survey's."""
    wanted = request.GET.get("lang", "") if response.survey.language_switch else ""
    chosen = wanted or response.language or response.survey.language
    return chosen if chosen in {"ja", "en"} else "ja"


def _message(
    request: HttpRequest, title: str, text: str, *, language: str, status: int
) -> HttpResponse:
    with translation.override(language):
        answer = render(
            request,
            "surveys/public/message.html",
            {"title": title, "message": text, "language": language},
            status=status,
        )
    answer["Content-Language"] = language
    answer.survey_page = True  # type: ignore[attr-defined]  # kept by SurveyIsolationMiddleware
    return answer


def _token_language(token: str) -> str:
    """The language of a link's pages, for its refusals: the response's, else the browser's."""
    try:
        return response_language(response_by_token(token))
    except NotFound:
        return translation.get_language() or "ja"


def _not_found(request: HttpRequest, token: str = "") -> HttpResponse:
    language = _token_language(token) if token else translation.get_language() or "ja"
    with translation.override(language):
        title, text = _("Survey not found"), _("This survey link is not valid.")
    return _message(request, title, text, language=language, status=404)


def _not_set_up(request: HttpRequest, token: str) -> HttpResponse:
    language = _token_language(token)
    with translation.override(language):
        title = _("This survey is closed")
        text = _("The consent form is not set up yet. Please contact the study team.")
    return _message(request, title, text, language=language, status=403)


def _unanswered_page(request: HttpRequest, response: SurveyResponse) -> HttpResponse | None:
    """The survey page to go back to when a required question of the survey has no stored
    answer (a consent link opened before the survey was answered); None when all are."""
    context = respondent_context(response, request_id=getattr(request, "request_id", ""))
    missing = {problem.field for problem in required_unanswered(response, context=context)}
    if not missing:
        return None
    page = survey_page(response, 1)
    first = next(
        (n for n, rows in enumerate(page.pages, 1) if any(r.field_name in missing for r in rows)),
        1,
    )
    url = reverse("surveys_public:respond", args=[response.token])
    return redirect(f"{url}?page={first}" if first > 1 else url)


def _needs_return_code(request: HttpRequest, response: SurveyResponse) -> bool:
    """A response saved for later opens only with its return code (or the session cookie the
    survey pages set on its link's path, which covers this page), as its survey pages do."""
    if not (response.survey.save_and_return and response.return_code):
        return False
    value = request.get_signed_cookie(SESSION_COOKIE, default="", salt=SESSION_SALT)
    return not (value and hmac.compare_digest(value, str(response.pk)))


def _over_limits(request: HttpRequest, response: SurveyResponse) -> bool:
    if not ratelimit.hit(ratelimit.posts_per_address(), client_address(request)):
        return True
    return not ratelimit.hit(ratelimit.posts_per_link(), response.token)


@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, token: str) -> HttpResponse:
    """The consent page: the response to confirm, the name, the signature, the certification."""
    try:
        response = econsent.consent_response(token)
    except NotFound:
        return _not_found(request, token)
    except InvalidInput:
        return _not_set_up(request, token)
    if _needs_return_code(request, response):
        return redirect("surveys_public:return", token=response.token)
    unanswered = _unanswered_page(request, response)
    if unanswered is not None:
        return unanswered
    language = _language(response, request)
    with translation.override(language):
        if request.method != "POST":
            return _page(request, response, {}, language=language)
        if _over_limits(request, response):
            answer = _message(
                request,
                _("Too many requests"),
                _("Please wait a minute and try again."),
                language=language,
                status=429,
            )
            answer["Retry-After"] = "60"
            return answer
        return _sign(request, response, language)


def _page(
    request: HttpRequest,
    response: SurveyResponse,
    problems: dict[str, str],
    *,
    language: str,
    name: str | None = None,
    certified: bool = False,
    status: int = 200,
) -> HttpResponse:
    snapshot = econsent.consent_snapshot(response)
    context = {
        "survey": response.survey,
        "snapshot": snapshot,
        "name": snapshot.name if name is None else name,
        "certified": certified,
        "problems": problems,
        "certify_text": econsent.CERTIFY_TEXT,
        "pdf_url": reverse("surveys_public:consent_pdf", args=[response.token]),
        "language": language,
    }
    answer = render(request, "surveys/consent/page.html", context, status=status)
    answer["Content-Language"] = language
    answer.survey_page = True  # type: ignore[attr-defined]
    return answer


def _sign(request: HttpRequest, response: SurveyResponse, language: str) -> HttpResponse:
    name = request.POST.get("name", "")
    certified = request.POST.get("certify") == "1"
    signing = econsent.Signing(
        name=name,
        signature=request.FILES.get("signature"),
        certified=certified,
        version=whole_number(request.POST.get("version", ""), 9) or 0,
        language=language,
    )
    context = respondent_context(
        response,
        request_id=getattr(request, "request_id", ""),
        client_address=client_address(request),
    )
    shown = {"language": language, "name": name, "certified": certified, "status": 400}
    try:
        econsent.consent_sign(response=response, context=context, signing=signing)
    except econsent.ConsentIncomplete as error:
        return _page(request, response, error.problems, **shown)  # type: ignore[arg-type]
    except SaveConflict:
        changed = _("Your answers changed since this page was shown. Please check them again.")
        return _page(request, response, {"form": changed}, **shown)  # type: ignore[arg-type]
    except (InvalidInput, FileRefused) as error:
        return _page(request, response, {"form": error.message}, **shown)  # type: ignore[arg-type]
    return redirect("surveys_public:done", token=response.token)


@require_GET
def consent_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The PDF snapshot to read before signing: made on request, shown inline, never kept."""
    try:
        response = econsent.consent_response(token)
    except NotFound:
        return _not_found(request, token)
    except InvalidInput:
        return _not_set_up(request, token)
    if _needs_return_code(request, response):
        return redirect("surveys_public:return", token=response.token)
    unanswered = _unanswered_page(request, response)
    if unanswered is not None:
        return unanswered
    language = _language(response, request)
    with translation.override(language):
        snapshot = econsent.consent_snapshot(response)
        signature = econsent.stored_signature(snapshot)
        pdf = econsent.consent_pdf(
            snapshot, name=snapshot.name, signed_at=None, signature_png=signature, language=language
        )
    answer = HttpResponse(pdf, content_type="application/pdf")
    answer["Content-Disposition"] = content_disposition("consent.pdf", "inline")
    answer["X-Content-Type-Options"] = "nosniff"
    return answer


# ---------------------------------------------------------------- staff


@login_required
@require_GET
@domain_errors
def record_consents(request: AuthedRequest, project_id: int, record_id: str) -> HttpResponse:
    project = access_project(request.user, project_id)
    consents = econsent.record_consents(request.user, project, record_id)
    context = {"project": project, "nav": "records", "record_id": record_id, "consents": consents}
    return render(request, "surveys/consent/record_consents.html", context)


@login_required
@require_GET
@domain_errors
def consent_download(
    request: AuthedRequest, project_id: int, record_id: str, consent_id: int
) -> HttpResponseBase:
    project = access_project(request.user, project_id)
    return file_response(econsent.access_consent_pdf(request.user, project, record_id, consent_id))


def record_consent_panel(page: RecordPage) -> SafeString | None:
    """The record page's list of signed e-consents (records' page hook), when the project has
    an e-consent survey."""
    if not Survey.objects.filter(project=page.project, econsent=True).exists():
        return None
    user = cast("User", page.request.user)
    consents = econsent.record_consents(user, page.project, page.record.record_id)
    context = {"project": page.project, "record_id": page.record.record_id, "consents": consents}
    html = render_to_string("surveys/consent/record_panel.html", context, page.request)
    return SafeString(html)
