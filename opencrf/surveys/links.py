"""Absolute survey links and their QR codes, as staff pages show them to copy or print."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from opencrf.accounts.two_factor import qr_code_data_uri
from opencrf.surveys.models import Survey, SurveyResponse

# The public pages' address shapes (surveys/urls_public.py), used until those routes exist.
_SHAPES = {"surveys_public:respond": "/surveys/s/{}/", "surveys_public:public": "/surveys/p/{}/"}


def _absolute(request: HttpRequest, path: str) -> str:
    """Behind a proxy the configured site address is the one participants can reach."""
    if settings.OPENCRF_SITE_URL_CONFIGURED:
        return settings.OPENCRF_SITE_URL + path
    return request.build_absolute_uri(path)


def _path(name: str, token: str) -> str:
    try:
        return reverse(name, args=[token])
    except NoReverseMatch:
        return _SHAPES[name].format(token)


def response_url(request: HttpRequest, response: SurveyResponse) -> str:
    """The participant's own link (REDCap: the survey link of a record or participant)."""
    return _absolute(request, _path("surveys_public:respond", response.token))


def public_url(request: HttpRequest, survey: Survey) -> str:
    return _absolute(request, _path("surveys_public:public", survey.public_token))


def code_url(request: HttpRequest) -> str:
    """The page where a participant types an access code."""
    try:
        path = reverse("surveys_public:code")
    except NoReverseMatch:
        path = "/surveys/code/"
    return _absolute(request, path)


def qr(url: str) -> str:
    """The link as a QR code (an SVG data: URI, allowed by the CSP)."""
    return qr_code_data_uri(url)


def optional_url(name: str, *candidates: list[object]) -> str:
    """The address of a route another part adds later (invitations), or "" while it is missing."""
    for args in candidates:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""
