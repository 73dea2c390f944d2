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
    answer = render(
        request,
        "surveys/public/message.html",
        {"title": title, "message": text, "language": language},
        status=status,
    )
    answer.survey_page = True  # type: ignore[attr-defined]  # kept by SurveyIsolationMiddleware
    return answer


def _not_found(request: HttpRequest) -> HttpResponse:
    language = translation.get_language() or "ja"
    return _message(
        request,
        _("Survey not found"),
        _("This survey link is not valid."),
        language=language,
        status=404,
    )


def _not_set_up(request: HttpRequest) -> HttpResponse:
    return _message(
        request,
        _("This survey is closed"),
        _("The consent form is not set up yet. Please contact the study team."),
        language=translation.get_language() or "ja",
        status=403,
    )


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
        return _not_found(request)
    except InvalidInput:
        return _not_set_up(request)
    if _needs_return_code(request, response):
        return redirect("surveys_public:return", token=response.token)
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
        return _not_found(request)
    except InvalidInput:
        return _not_set_up(request)
    if _needs_return_code(request, response):
        return redirect("surveys_public:return", token=response.token)
    with translation.override(_language(response, request)):
        snapshot = econsent.consent_snapshot(response)
        signature = econsent.stored_signature(snapshot)
        pdf = econsent.consent_pdf(
            snapshot, name=snapshot.name, signed_at=None, signature_png=signature
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
