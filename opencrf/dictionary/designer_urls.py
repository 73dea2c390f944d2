"""Routes of the online designer, included from this app's urls.py (names join its namespace)."""

from django.urls import URLPattern, URLResolver, path

from opencrf.dictionary import designer_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.designer_home, name="designer"),
    path("instruments/", views.instrument_action, name="designer_instruments"),
    path("upload/", views.instrument_upload, name="designer_upload"),
    path("logic-check/", views.logic_check, name="designer_logic_check"),
    path("calc-test/", views.calc_test, name="designer_calc_test"),
    path("forms/<str:form_name>/", views.instrument_page, name="designer_instrument"),
    path("forms/<str:form_name>/fields/", views.field_action, name="designer_fields"),
    path("forms/<str:form_name>/field/", views.field_editor, name="designer_field"),
    path("forms/<str:form_name>/zip/", views.instrument_download, name="designer_zip"),
]
