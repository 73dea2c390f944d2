"""Routes of the multi-language pages, included from this app's urls.py."""

from django.urls import path

from opencrf.dictionary import language_views

urlpatterns = [
    path("", language_views.languages_page, name="languages"),
    path("add/", language_views.language_add, name="language_add"),
    path("<str:code>/", language_views.language_change, name="language_change"),
    path("<str:code>/download/", language_views.translation_download, name="translation_download"),
    path("<str:code>/upload/", language_views.translation_upload, name="translation_upload"),
]
