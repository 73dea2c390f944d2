"""Routes of randomization pages, under /projects/<id>/randomization/."""

from django.urls import URLPattern, URLResolver

app_name = "randomization"

urlpatterns: list[URLPattern | URLResolver] = []
