"""Draft mode, under /projects/<id>/design/draft/ (namespace `dictionary`)."""

from django.urls import URLPattern, URLResolver, path

from opencrf.dictionary import draft_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", draft_views.draft_page, name="draft"),
    path("enter/", draft_views.draft_enter, name="draft_enter"),
    path("upload/", draft_views.draft_upload, name="draft_upload"),
    path("download/", draft_views.draft_download, name="draft_download"),
    path("review/", draft_views.draft_review_page, name="draft_review"),
    path("submit/", draft_views.draft_submit, name="draft_submit"),
    path("discard/", draft_views.draft_discard, name="draft_discard"),
    path("approve/", draft_views.draft_approve, name="draft_approve"),
    path("reject/", draft_views.draft_reject, name="draft_reject"),
]
