"""The participant's pages: a survey reached by its link, public link, access code or queue.

No login and nothing of the staff site: `SurveyIsolationMiddleware` makes every request under
/surveys/ anonymous whatever session cookie it carries, and these views never read the staff
session. A participant's place in a response (which pages they may see without the return
code) is a signed cookie scoped to that response's link. Every POST is CSRF-checked, counted
against per-address and per-link rate limits (429 beyond them) and carries a honeypot field.
"""

from __future__ import annotations

import contextlib
import hmac
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.middleware import client_address
from opencrf.core.numbers import whole_number
from opencrf.dictionary.design import design_of
from opencrf.files.previews import preview_response
from opencrf.records.errors import InvalidValues, ValueProblem
from opencrf.surveys import ratelimit, selectors
from opencrf.surveys.codes import normalise_code
from opencrf.surveys.models import QueueLink, Survey, SurveyResponse
from opencrf.surveys.public_page import (
    SurveyPage,
    page_context,
    piped_text,
    required_message,
    shown_survey,
    shown_values,
    survey_page,
)
from opencrf.surveys.respond import (
    RequiredMissing,
    SurveyClosed,
    answers_save,
    next_survey,
    posted_values,
    public_event,
    public_refusal,
    queue_enabled,
    queue_start,
    response_refusal,
    survey_queue,
)
from opencrf.surveys.services import (
    public_response_start,
    respondent_context,
    return_code_issue,
)
from opencrf.surveys.uploads import (
    PageUploads,
    UploadRefused,
    file_fields,
    uploads_discard,
    uploads_store,
)

SESSION_COOKIE = "crf_survey"
SESSION_SALT = "opencrf.surveys.respondent"
# The honeypot: an input people never see (hidden by CSS) that form-filling bots fill in.
HONEYPOT = "crf_website"
LANGUAGE_NAMES = (("ja", "日本語"), ("en", "English"))
ACTIONS = frozenset({"next", "previous", "submit", "save_return"})


# ---------------------------------------------------------------- shared helpers


def _language(response: SurveyResponse | None, survey: Survey | None = None) -> str:
    if response is not None and response.language:
        return response.language
    survey = survey or (response.survey if response is not None else None)
    return survey.language if survey is not None else translation.get_language() or "ja"


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    language: str,
    status: int = 200,
) -> HttpResponse:
    with translation.override(language):
        answer = render(request, template, {"language": language, **context}, status=status)
    answer["Content-Language"] = language
    answer.survey_page = True  # type: ignore[attr-defined]  # not replaced by the middleware
    return answer


def _message(
    request: HttpRequest,
    title: str,
    message: str,
    *,
    language: str,
    status: int = 200,
    survey: Survey | None = None,
) -> HttpResponse:
    context = {"title": title, "message": message, "survey": survey}
    return _page(request, "surveys/public/message.html", context, language=language, status=status)


def _not_found(request: HttpRequest, language: str = "") -> HttpResponse:
    language = language or translation.get_language() or "ja"
    with translation.override(language):
        title, text = _("Survey not found"), _("This survey link is not valid.")
    return _message(request, title, text, language=language, status=404)


def _closed(request: HttpRequest, response: SurveyResponse, reason: str) -> HttpResponse:
    language = _language(response)
    with translation.override(language):
        title = _("This survey is closed")
    return _message(request, title, reason, language=language, status=403, survey=response.survey)


def _too_many(request: HttpRequest, language: str) -> HttpResponse:
    with translation.override(language):
        title = _("Too many requests")
        text = _("Too many answers came from your connection. Please wait a minute and try again.")
    answer = _message(request, title, text, language=language, status=429)
    answer["Retry-After"] = "60"
    return answer


def _respond_url(response: SurveyResponse, page: int | None = None) -> str:
    url = reverse("surveys_public:respond", args=[response.token])
    return f"{url}?page={page}" if page else url


def _has_session(request: HttpRequest, response: SurveyResponse) -> bool:
    value = request.get_signed_cookie(SESSION_COOKIE, default="", salt=SESSION_SALT) or ""
    return bool(value) and hmac.compare_digest(value, str(response.pk))


def _with_session(answer: HttpResponse, response: SurveyResponse) -> HttpResponse:
    answer.set_signed_cookie(
        SESSION_COOKIE,
        str(response.pk),
        salt=SESSION_SALT,
        path=_respond_url(response),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return answer


def _needs_return_code(request: HttpRequest, response: SurveyResponse) -> bool:
    """REDCap: a response saved with "save and return later" reopens only with its code."""
    started = response.status != SurveyResponse.Status.NOT_STARTED
    return (
        response.survey.save_and_return
        and bool(response.return_code)
        and started
        and not _has_session(request, response)
    )


def _response(token: str) -> SurveyResponse | None:
    try:
        return selectors.response_by_token(token)
    except NotFound:
        return None


def _address(request: HttpRequest) -> str:
    return client_address(request)


def _over_limits(request: HttpRequest, link: str) -> bool:
    """Count a POST against the address and link limits; True when it must be refused."""
    if not ratelimit.hit(ratelimit.posts_per_address(), _address(request)):
        return True
    return not ratelimit.hit(ratelimit.posts_per_link(), link)


def _context(request: HttpRequest, response: SurveyResponse) -> AuditContext:
    return respondent_context(
        response, request_id=getattr(request, "request_id", ""), client_address=_address(request)
    )


# ---------------------------------------------------------------- the survey page


def _render_page(
    request: HttpRequest,
    page: SurveyPage,
    values: dict[str, str],
    *,
    problems: tuple[ValueProblem, ...] | list[ValueProblem] = (),
    required: bool = False,
    status: int = 200,
) -> HttpResponse:
    response = page.response
    language = _language(response)
    survey = shown_survey(response.survey, page.design, language)
    with translation.override(language):
        context = {
            "survey": survey,
            "response": response,
            "page": page,
            "instructions": piped_text(response, survey.instructions) if page.number == 1 else "",
            "required_message": required_message(page) if required else "",
            "languages": LANGUAGE_NAMES if survey.language_switch else (),
            "honeypot": HONEYPOT,
            "action_url": _respond_url(response),
            **page_context(page, values, problems),
        }
    answer = _page(request, "surveys/public/survey.html", context, language=language, status=status)
    return _with_session(answer, response)


@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """A response's link: the survey's pages, saved as the participant goes."""
    response = _response(token)
    if response is None:
        return _not_found(request)
    if request.method == "POST":
        return _submit(request, response)
    refusal = response_refusal(response)
    if refusal:
        return _closed(request, response, refusal)
    if _needs_return_code(request, response):
        return redirect("surveys_public:return", token=response.token)
    wanted = whole_number(request.GET.get("page", ""), 4) if _has_session(request, response) else 1
    page = survey_page(response, wanted or response.page or 1)
    return _render_page(request, page, shown_values(page))


def _submit(request: HttpRequest, response: SurveyResponse) -> HttpResponse:
    if _over_limits(request, response.token):
        return _too_many(request, _language(response))
    if request.POST.get(HONEYPOT, ""):
        # A bot: a neutral page, and nothing is written.
        with translation.override(_language(response)):
            title, text = _("Thank you"), _("Your answers were received.")
        return _message(request, title, text, language=_language(response))
    refusal = response_refusal(response)
    if refusal:
        return _closed(request, response, refusal)
    if _needs_return_code(request, response):
        return redirect("surveys_public:return", token=response.token)
    action = request.POST.get("action", "next")
    action = action if action in ACTIONS else "next"
    page = survey_page(response, whole_number(request.POST.get("page", ""), 4) or 1)
    if action == "next" and page.last:
        action = "submit"
    values = posted_values(page.rows, request.POST)
    survey = response.survey
    if action == "save_return" and not survey.save_and_return:
        action = "next" if not page.last else "submit"
    if action == "next":
        required = [row.field_name for row in page.rows]
    elif action == "submit":
        required = [row.field_name for row in page.all_rows]
    else:
        required = []
    complete = action == "submit" and not survey.econsent
    context = _context(request, response)
    try:
        with translation.override(_language(response)):
            uploads = uploads_store(
                response, page.rows, files=request.FILES, post=request.POST, context=context
            )
    except UploadRefused as refused:
        return _render_page(request, page, values, problems=[refused.problem], status=400)
    try:
        with translation.override(_language(response)):
            saved = answers_save(
                response,
                context=context,
                values={**values, **uploads.values()},
                page=page.number,
                required=required,
                complete=complete,
                address=_address(request),
                files=file_fields(page.rows),
            )
    except RequiredMissing as missing:
        return _required(request, response, page, values, missing, uploads)
    except (SurveyClosed, InvalidValues, InvalidInput) as error:
        uploads_discard(context, uploads.stored.values())
        return _refused(request, response, page, values, error)
    if action == "previous":
        return redirect(_respond_url(saved, max(1, page.number - 1)))
    if action == "next":
        return redirect(_respond_url(saved, page.number + 1))
    if action == "save_return":
        return _saved_for_later(request, saved)
    if survey.econsent:
        return redirect(_consent_url(saved))
    return redirect("surveys_public:done", token=saved.token)


def _refused(
    request: HttpRequest,
    response: SurveyResponse,
    page: SurveyPage,
    values: dict[str, str],
    error: InvalidInput,
) -> HttpResponse:
    """A page whose save was refused: closed, a refused value, or (e.g. the record was
    deleted or renamed meanwhile) a refused save."""
    if isinstance(error, SurveyClosed):
        return _closed(request, response, error.message)
    if isinstance(error, InvalidValues):
        return _render_page(request, page, values, problems=error.problems, status=400)
    language = _language(response)
    with translation.override(language):
        title = _("Your answers could not be saved")
    return _message(request, title, error.message, language=language, status=409)


def _consent_url(response: SurveyResponse) -> str:
    """The e-consent page (opencrf.surveys consent views) that completes the response."""
    try:
        return reverse("surveys_public:consent", args=[response.token])
    except NoReverseMatch:  # the consent page is not installed in this build
        return f"{_respond_url(response)}consent/"


def _required(
    request: HttpRequest,
    response: SurveyResponse,
    page: SurveyPage,
    values: dict[str, str],
    missing: RequiredMissing,
    uploads: PageUploads,
) -> HttpResponse:
    """Show the first page with a required question left blank; this page's answers are kept
    (saved, unless they are on the page shown again: then its uploaded files are not kept
    either, and are chosen again)."""
    names = {problem.field for problem in missing.problems}
    first = next(
        (n for n, rows in enumerate(page.pages, 1) if any(r.field_name in names for r in rows)),
        page.number,
    )
    context = _context(request, response)
    kept = False
    if first != page.number:
        with contextlib.suppress(InvalidValues, SurveyClosed):
            answers_save(
                response,
                context=context,
                values={**values, **uploads.values()},
                page=first,
                address=_address(request),
                files=file_fields(page.rows),
            )
            kept = True
        response.refresh_from_db()
    if not kept:
        uploads_discard(context, uploads.stored.values())
    if first != page.number:
        page = survey_page(response, first)
        values = shown_values(page)
    problems = [p for p in missing.problems if p.field in {r.field_name for r in page.rows}]
    return _render_page(request, page, values, problems=problems, required=True, status=400)


def _saved_for_later(request: HttpRequest, response: SurveyResponse) -> HttpResponse:
    """Save and return later: the return code, shown once more with the link to come back."""
    code = return_code_issue(response)
    link = request.build_absolute_uri(_respond_url(response))
    context = {"survey": response.survey, "code": code, "link": link}
    answer = _page(request, "surveys/public/saved.html", context, language=_language(response))
    # Coming back through the link now needs the return code, as in REDCap.
    answer.delete_cookie(SESSION_COOKIE, path=_respond_url(response))
    return answer


@require_http_methods(["GET", "POST"])
def return_code(request: HttpRequest, token: str) -> HttpResponse:
    """Type the return code to continue a response saved for later."""
    response = _response(token)
    if response is None:
        return _not_found(request)
    refusal = response_refusal(response)
    if refusal:
        return _closed(request, response, refusal)
    if not _needs_return_code(request, response):
        return redirect(_respond_url(response))
    language = _language(response)
    error = ""
    if request.method == "POST":
        if _over_limits(request, response.token) or not ratelimit.hit(
            ratelimit.return_tries_per_link(), response.token
        ):
            return _too_many(request, language)
        typed = normalise_code(request.POST.get("code", ""))[:32]
        if typed and hmac.compare_digest(typed, response.return_code):
            return _with_session(redirect(_respond_url(response, response.page)), response)
        with translation.override(language):
            error = _("This return code is not correct.")
    context = {"survey": response.survey, "error": error, "languages": ()}
    status = 400 if error else 200
    return _page(request, "surveys/public/return.html", context, language=language, status=status)


@require_http_methods(["POST"])
def language(request: HttpRequest, token: str) -> HttpResponse:
    """The participant's choice of language, kept in the response."""
    response = _response(token)
    if response is None:
        return _not_found(request)
    if _over_limits(request, response.token):
        return _too_many(request, _language(response))
    chosen = request.POST.get("language", "")
    if response.survey.language_switch and chosen in {"ja", "en"}:
        response.language = chosen
        response.save(update_fields=["language"])
    page = whole_number(request.POST.get("page", ""), 4)
    return redirect(_respond_url(response, page))


@require_GET
def done(request: HttpRequest, token: str) -> HttpResponse:
    """After the last page: the next survey, the survey queue, the redirect or the thanks."""
    response = _response(token)
    if response is None:
        return _not_found(request)
    if response.status != SurveyResponse.Status.COMPLETED:
        return redirect(_respond_url(response))
    survey = response.survey
    if survey.auto_continue and (following := next_survey(response)) is not None:
        _carry_language(response, [following])
        return redirect(_respond_url(following))
    entries = []
    if response.record is not None and queue_enabled(response.project_id):
        entries = survey_queue(response.record)
        _carry_language(response, [entry.response for entry in entries])
        start = queue_start(entries)
        if start is not None and start.pk != response.pk:
            return redirect(_respond_url(start))
    if survey.redirect_url.startswith(("https://", "http://")) and not entries:
        return HttpResponseRedirect(survey.redirect_url)
    language = _language(response)
    shown = shown_survey(survey, design_of(response.project), language)
    with translation.override(language):
        completion_text = piped_text(response, shown.completion_text)
    context = {"survey": shown, "completion_text": completion_text, "entries": entries}
    return _page(request, "surveys/public/done.html", context, language=language)


def _carry_language(response: SurveyResponse, following: list[SurveyResponse]) -> None:
    """The participant's chosen language goes with them to the record's next surveys."""
    if not response.language:
        return
    for other in following:
        if not other.language and other.status != SurveyResponse.Status.COMPLETED:
            other.language = response.language
            other.save(update_fields=["language"])


@require_GET
def logo(request: HttpRequest, token: str) -> HttpResponseBase:
    """The survey's logo, to the pages of its responses."""
    response = _response(token)
    stored = response.survey.logo if response is not None else None
    if stored is None or stored.project_id != response.project_id or stored.deleted_at:  # type: ignore[union-attr]
        raise Http404
    try:
        return preview_response(stored)
    except NotFound:
        raise Http404 from None


# ---------------------------------------------------------------- ways in


@require_GET
def public(request: HttpRequest, public_token: str) -> HttpResponse:
    """The survey's public link: each visit starts a response of its own, whose record is
    created when its first page is submitted."""
    try:
        survey = selectors.survey_by_public_token(public_token)
    except NotFound:
        return _not_found(request)
    event = public_event(survey)
    if event is None:
        return _not_found(request, survey.language)
    refusal = public_refusal(survey)
    if refusal:
        with translation.override(survey.language):
            title = _("This survey is closed")
        return _message(
            request, title, refusal, language=survey.language, status=403, survey=survey
        )
    if not ratelimit.hit(ratelimit.starts_per_address(), _address(request)):
        return _too_many(request, survey.language)
    response = public_response_start(survey=survey, event=event)
    return _with_session(redirect(_respond_url(response)), response)


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    """The access-code page: type the short code from a letter to open the survey."""
    language = translation.get_language() or "ja"
    error = ""
    if request.method == "POST":
        if not ratelimit.hit(ratelimit.code_tries_per_address(), _address(request)):
            return _too_many(request, language)
        if request.POST.get(HONEYPOT, ""):
            error = _("No survey has this access code.")
        else:
            try:
                response = selectors.response_by_access_code(request.POST.get("code", "")[:32])
            except NotFound as missing:
                error = missing.message
            else:
                return redirect(_respond_url(response))
    context = {"error": error, "honeypot": HONEYPOT}
    status = 400 if error else 200
    return _page(request, "surveys/public/code.html", context, language=language, status=status)


@require_GET
def queue(request: HttpRequest, token: str) -> HttpResponse:
    """A record's survey queue: the surveys due for it, with their status and links."""
    link = (
        QueueLink.objects.select_related("record", "project")
        .filter(token=token, project__surveys_enabled=True)
        .first()
    )
    if link is None or not token:
        return _not_found(request)
    entries = survey_queue(link.record)
    language = entries[0].survey.language if entries else translation.get_language() or "ja"
    context = {"entries": entries}
    return _page(request, "surveys/public/queue.html", context, language=language)
