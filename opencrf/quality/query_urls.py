"""Routes of queries and the field comment log, included by quality/urls.py (`quality`)."""

from django.urls import URLPattern, path

from opencrf.quality import comment_views, query_views

FIELD = "field/<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/<str:field_name>/"

query_patterns: list[URLPattern] = [
    path(FIELD, query_views.field_thread, name="field_thread"),
    path(f"{FIELD}queries/new/", query_views.query_open, name="query_open"),
    path(f"{FIELD}comments/new/", comment_views.comment_add, name="comment_add"),
    path("queries/<int:query_id>/", query_views.query_page, name="query"),
    path("queries/<int:query_id>/step/", query_views.query_step, name="query_step"),
    path("comments/<int:comment_id>/edit/", comment_views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", comment_views.comment_delete, name="comment_delete"),
    path("results/<int:result_id>/query/", query_views.result_query, name="result_query"),
]
