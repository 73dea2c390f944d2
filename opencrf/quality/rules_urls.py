"""Routes of data quality rules, included by quality/urls.py (namespace `quality`)."""

from django.urls import URLPattern, path

from opencrf.quality import rules_views

rules_patterns: list[URLPattern] = [
    path("rules/", rules_views.rules_page, name="rules"),
    path("rules/run/", rules_views.rules_run, name="run"),
    path("rules/new/", rules_views.rule_edit, name="rule_new"),
    path("rules/<int:rule_id>/", rules_views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", rules_views.rule_delete, name="rule_delete"),
    path("rules/<int:rule_id>/move/", rules_views.rule_move, name="rule_move"),
    path("runs/<int:run_id>/<str:key>/", rules_views.rule_results, name="results"),
    path("results/<int:result_id>/exclude/", rules_views.result_exclude, name="result_exclude"),
]
