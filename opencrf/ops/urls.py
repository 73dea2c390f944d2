from django.urls import path

from opencrf.ops import views

app_name = "ops"

urlpatterns = [
    path("alive", views.alive, name="alive"),
    path("ready", views.ready, name="ready"),
]
