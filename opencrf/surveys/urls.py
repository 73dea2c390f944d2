"""Staff survey pages, under projects/<project_id>/surveys/ (namespace `surveys`)."""

from django.urls import path

from opencrf.surveys import consent_views, invitation_views, views_staff

app_name = "surveys"

LIST = "distribute/<int:survey_id>/<int:event_id>/"

urlpatterns = [
    path("", views_staff.survey_list, name="list"),
    path("enable/", views_staff.survey_enable, name="enable"),
    path("check-logic/", views_staff.check_logic, name="check_logic"),
    path("<int:survey_id>/", views_staff.survey_settings, name="settings"),
    path("<int:survey_id>/disable/", views_staff.survey_disable, name="disable"),
    path("distribute/", views_staff.distribution, name="distribution"),
    path(f"{LIST}add/", views_staff.participant_add, name="participant_add"),
    path(f"{LIST}import/", views_staff.participant_import, name="participant_import"),
    path(f"{LIST}<int:participant_id>/", views_staff.participant_edit, name="participant"),
    path(
        f"{LIST}<int:participant_id>/delete/",
        views_staff.participant_delete,
        name="participant_delete",
    ),
    path(
        "record/<str:record_id>/<str:event_name>/<str:form_name>/<int:instance>/",
        views_staff.record_link,
        name="record_link",
    ),
    path("records/<str:record_id>/consents/", consent_views.record_consents, name="consents"),
    path(
        "records/<str:record_id>/consents/<int:consent_id>/pdf/",
        consent_views.consent_download,
        name="consent_download",
    ),
    path("invitations/", invitation_views.invitation_log, name="invitation_log"),
    path(
        "invitations/compose/",
        invitation_views.invitation_compose_start,
        name="invitation_compose",
    ),
    path(
        "invitations/compose/<int:survey_id>/<int:event_id>/",
        invitation_views.invitation_compose,
        name="invitation_compose",
    ),
    path(
        "invitations/<int:invitation_id>/cancel/",
        invitation_views.invitation_cancel,
        name="invitation_cancel",
    ),
    path(
        "invitations/<int:invitation_id>/resend/",
        invitation_views.invitation_resend,
        name="invitation_resend",
    ),
    path("automated/", invitation_views.auto_invitation_list, name="auto_invitations"),
    path(
        "automated/<int:survey_id>/<int:event_id>/",
        invitation_views.auto_invitation_edit,
        name="auto_invitation",
    ),
]
