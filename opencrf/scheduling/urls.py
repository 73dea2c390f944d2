"""Routes of scheduling pages, under /projects/<id>/scheduling/."""

from django.urls import URLPattern, URLResolver

app_name = "scheduling"

urlpatterns: list[URLPattern | URLResolver] = []
