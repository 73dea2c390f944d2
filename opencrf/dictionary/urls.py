from django.urls import include, path

from opencrf.dictionary import codebook_urls, designer_urls, draft_urls, languages_urls, views

app_name = "dictionary"

urlpatterns = [
    path("dictionary/", views.dictionary_page, name="dictionary"),
    path("dictionary/download/", views.dictionary_download, name="download"),
    path("dictionary/apply/", views.dictionary_confirm, name="apply"),
    path("revisions/", views.revision_list, name="revisions"),
    path("revisions/<int:number>/download/", views.revision_download, name="revision_download"),
    path("revisions/compare/", views.revision_compare, name="revision_compare"),
    path("instruments/", views.instrument_list, name="instruments"),
    path("instruments/<str:form_name>/", views.instrument_preview, name="instrument"),
    path("designate/", views.designate, name="designate"),
    path("repeating/", views.repeating, name="repeating"),
    path("designer/", include(designer_urls)),
    path("draft/", include(draft_urls)),
    path("codebook/", include(codebook_urls)),
    path("languages/", include(languages_urls)),
]
