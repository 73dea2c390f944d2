from django.urls import path

from opencrf.accounts import views
from opencrf.accounts.lifecycle_urls import urlpatterns as lifecycle_urlpatterns

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("login/code/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path(
        "two-factor/recovery-codes/",
        views.recovery_codes_regenerate,
        name="two_factor_recovery_codes",
    ),
    path("confirm/", views.reauth, name="reauth"),
    path("me/", views.me, name="me"),
    path("me/email/", views.email_change, name="email_change"),
    path("me/sessions/sign-out/", views.sessions_sign_out_others, name="sessions_sign_out"),
    path("keep-alive/", views.keep_alive, name="keep_alive"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
urlpatterns += lifecycle_urlpatterns
