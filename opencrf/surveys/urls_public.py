"""The participant's pages under /surveys/ (no login; see views_public)."""

from django.urls import path

from opencrf.surveys import consent_views, views_public

app_name = "surveys_public"

urlpatterns = [
    path("s/<str:token>/", views_public.respond, name="respond"),
    path("s/<str:token>/return/", views_public.return_code, name="return"),
    path("s/<str:token>/language/", views_public.language, name="language"),
    path("s/<str:token>/done/", views_public.done, name="done"),
    path("s/<str:token>/consent/", consent_views.consent, name="consent"),
    path("s/<str:token>/consent/pdf/", consent_views.consent_pdf, name="consent_pdf"),
    path("s/<str:token>/logo/", views_public.logo, name="logo"),
    path("p/<str:public_token>/", views_public.public, name="public"),
    path("code/", views_public.code, name="code"),
    path("q/<str:token>/", views_public.queue, name="queue"),
]
