from django.urls import path

from opencrf.api import pages

app_name = "api"

urlpatterns = [
    path("", pages.api_page, name="page"),
    path("token/", pages.token_action, name="token"),
]
