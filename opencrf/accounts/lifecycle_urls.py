"""Account request, activation and terms pages (in the `accounts` namespace)."""

from django.urls import path

from opencrf.accounts import lifecycle_views

urlpatterns = [
    path("request/", lifecycle_views.account_request, name="request"),
    path("request/sent/", lifecycle_views.account_request_sent, name="request_sent"),
    path("activate/<str:token>/", lifecycle_views.activate, name="activate"),
    path("terms/", lifecycle_views.terms_show, name="terms"),
    path("terms/accept/", lifecycle_views.terms_accept, name="terms_accept"),
]
