"""The control centre for administrators, under /control/ (namespace `control`).

Every view here is wrapped in `opencrf.accounts.decorators.administrator_required`:
anyone else gets a 404, as if the page did not exist.
"""

from django.urls import path

from opencrf.accounts import control_views, security_views

app_name = "control"

urlpatterns = [
    path("", control_views.control_home, name="home"),
    path("users/", control_views.users_list, name="users"),
    path("users/new/", control_views.user_new, name="user_new"),
    path("users/<int:user_id>/", control_views.user_detail, name="user"),
    path("users/<int:user_id>/suspend/", control_views.user_suspend, name="user_suspend"),
    path("users/<int:user_id>/unsuspend/", control_views.user_unsuspend, name="user_unsuspend"),
    path(
        "users/<int:user_id>/activation/",
        control_views.user_resend_activation,
        name="user_resend_activation",
    ),
    path("account-requests/", control_views.account_requests, name="account_requests"),
    path(
        "account-requests/<int:request_id>/",
        control_views.account_request_detail,
        name="account_request",
    ),
    path("terms/", control_views.terms_list, name="terms"),
    path("terms/<int:version_id>/", control_views.terms_detail, name="terms_version"),
    path("settings/", control_views.site_settings_edit, name="settings"),
    path("security-log/", security_views.security_log, name="security_log"),
]
