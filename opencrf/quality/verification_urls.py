"""Routes of source data verification, included by quality/urls.py (namespace `quality`)."""

from django.urls import URLPattern, path

from opencrf.quality import verification_views as views

_FORM = "verification/<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/"

verification_patterns: list[URLPattern] = [
    path("verification/", views.progress, name="verification"),
    path(f"{_FORM}verify/", views.verify, name="verification_verify"),
    path(f"{_FORM}unverify/", views.unverify, name="verification_unverify"),
]
