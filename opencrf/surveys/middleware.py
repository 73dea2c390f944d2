"""Keeping the participant's pages apart from the staff site."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

PUBLIC_PREFIX = "/surveys/"


class SurveyIsolationMiddleware:
    """Requests under /surveys/ are anonymous, whatever session cookie they carry.

    Placed right after authentication: the account rules after it (session limits,
    two-factor, password change, terms, last activity) then leave these pages alone, and no
    view here can act as the staff member whose browser it is. Every answer gets
    `Cache-Control: no-store` and `Referrer-Policy: same-origin` (links carry tokens: no other
    site sees them; "no-referrer" would make browsers send `Origin: null` with every form,
    which Django's CSRF check refuses), and a refusal made outside the survey views
    (maintenance mode's 503, a CSRF failure's 403) is shown as a survey page, without the
    staff site's navigation.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PUBLIC_PREFIX):
            return self.get_response(request)
        request.user = AnonymousUser()
        response = self.get_response(request)
        if response.status_code in {403, 503} and not getattr(response, "survey_page", False):
            response = _refusal(request, response.status_code)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response


def _refusal(request: HttpRequest, status: int) -> HttpResponse:
    language = translation.get_language() or "ja"
    if status == 503:
        title = _("Please try again later")
        message = _("The study's system is under maintenance. Nothing was saved.")
    else:
        title = _("This page has expired")
        message = _("Please go back, reload the page and try again. Nothing was saved.")
    context = {"title": title, "message": message, "language": language}
    response = render(request, "surveys/public/message.html", context, status=status)
    response.survey_page = True  # type: ignore[attr-defined]
    if status == 503:
        response["Retry-After"] = "300"
    return response
