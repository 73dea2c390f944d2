"""Staff survey pages: survey settings per instrument, Survey Distribution Tools (public link,
participant lists) and a record's survey link. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.dictionary.logic_check import logic_problem
from opencrf.projects import selectors as project_selectors
from opencrf.projects.models import Event, Project
from opencrf.records import selectors as record_selectors
from opencrf.surveys import invitations, links, services, staff_selectors, staff_services
from opencrf.surveys.models import Survey
from opencrf.surveys.settings_check import SurveySettingsInvalid
from opencrf.surveys.staff_forms import ParticipantForm, ParticipantImportForm, SurveySettingsForm

# ------------------------------------------------------------------ survey settings


@login_required
@domain_errors
def survey_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Every instrument with its survey state (REDCap's Online Designer "Survey" column)."""
    project = staff_selectors.access_survey_design(request.user, project_id)
    surveys = {s.form_name: s for s in Survey.objects.filter(project=project)}
    rows = [(i, surveys.get(i.name)) for i in design_of(project).instruments]
    context = {"project": project, "nav": "survey_settings", "rows": rows}
    return render(request, "surveys/staff/list.html", context)


@login_required
@require_POST
@domain_errors
def survey_enable(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = staff_selectors.access_survey_design(request.user, project_id)
    try:
        survey = services.survey_enable(
            context=AuditContext.from_request(request),
            project=project,
            form_name=request.POST.get("form_name", ""),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("surveys:list", project_id=project.pk)
    messages.success(request, _("The instrument is now a survey. Check its settings."))
    return redirect("surveys:settings", project_id=project.pk, survey_id=survey.pk)


def _settings_form(request: AuthedRequest, project: Project, survey: Survey) -> SurveySettingsForm:
    design = design_of(project)
    labels = {i.name: i.label for i in design.instruments}
    others = [
        (s.form_name, labels.get(s.form_name, s.form_name))
        for s in Survey.objects.filter(project=project).exclude(pk=survey.pk)
    ]
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    return SurveySettingsForm(
        data, files, survey=survey, rows=design.form_rows(survey.form_name), others=others
    )


@login_required
@domain_errors
def survey_settings(request: AuthedRequest, project_id: int, survey_id: int) -> HttpResponse:
    project = staff_selectors.access_survey_design(request.user, project_id)
    survey = staff_selectors.access_survey(project, survey_id)
    form = _settings_form(request, project, survey)
    if request.method == "POST" and form.is_valid():
        context = AuditContext.from_request(request)
        try:
            services.survey_update(context=context, survey=survey, **form.settings())
            upload = form.cleaned_data.get("logo")
            if upload is not None or form.cleaned_data.get("logo_remove"):
                staff_services.survey_logo_set(context=context, survey=survey, upload=upload)
        except SurveySettingsInvalid as refused:
            for name, message in refused.problems.items():
                form.add_error(name if name in form.fields else None, message)
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Survey settings saved."))
            return redirect("surveys:settings", project_id=project.pk, survey_id=survey.pk)
    survey.refresh_from_db()
    label = next(
        (i.label for i in design_of(project).instruments if i.name == survey.form_name), ""
    )
    page = {
        "project": project,
        "nav": "survey_settings",
        "survey": survey,
        "instrument_label": label,
        "form": form,
    }
    return render(request, "surveys/staff/settings.html", page, status=400 if form.errors else 200)


@login_required
@require_POST
@domain_errors
def survey_disable(request: AuthedRequest, project_id: int, survey_id: int) -> HttpResponse:
    project = staff_selectors.access_survey_design(request.user, project_id)
    survey = staff_selectors.access_survey(project, survey_id)
    services.survey_disable(context=AuditContext.from_request(request), survey=survey)
    messages.success(request, _("The instrument is no longer a survey; its data stay."))
    return redirect("surveys:list", project_id=project.pk)


@login_required
@domain_errors
def check_logic(request: AuthedRequest, project_id: int) -> JsonResponse:
    """The settings page's check of the queue logic as it is typed: the problem, or null."""
    project = staff_selectors.access_survey_design(request.user, project_id)
    return JsonResponse(
        {"problem": logic_problem(design_of(project), request.GET.get("logic", ""))}
    )


# ------------------------------------------------------------------ distribution tools


def _chosen(request: AuthedRequest, project: Project) -> tuple[Survey | None, Event | None]:
    """The participant list asked for (?survey=&event=), else the public survey's, else the
    first survey's at its first event."""
    surveys = list(Survey.objects.filter(project=project))
    wanted = whole_number(request.GET.get("survey", ""), 12)
    survey: Survey | None
    if wanted is not None:
        survey = staff_selectors.access_survey(project, wanted)
    else:
        public = staff_selectors.public_survey(project)
        survey = public[0] if public else (surveys[0] if surveys else None)
    if survey is None:
        return None, None
    event_id = whole_number(request.GET.get("event", ""), 12)
    try:
        return survey, staff_selectors.access_survey_event(project, survey, event_id)
    except NotFound:
        if event_id is not None:
            raise
        return survey, None


def _list_url(project: Project, survey: Survey, event: Event) -> str:
    base = reverse("surveys:distribution", args=[project.pk])
    return f"{base}?survey={survey.pk}&event={event.pk}#participants"


def _lists(project: Project) -> list[tuple[Survey, Event, str]]:
    labels = {i.name: i.label for i in design_of(project).instruments}
    return [
        (survey, event, labels.get(survey.form_name, survey.form_name))
        for survey in Survey.objects.filter(project=project)
        for event in staff_selectors.survey_events(project, survey)
    ]


@login_required
@domain_errors
def distribution(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Survey Distribution Tools: the public link, and one participant list at a time."""
    project, _rights = staff_selectors.access_distribution(request.user, project_id)
    survey, event = _chosen(request, project)
    public = staff_selectors.public_survey(project)
    context: dict[str, Any] = {"project": project, "nav": "survey_distribution"}
    if public is not None:
        url = links.public_url(request, public[0])
        context["public"] = {
            "survey": public[0],
            "event": public[1],
            "url": url,
            "qr": links.qr(url),
        }
    context["lists"] = _lists(project)
    if survey is not None and event is not None:
        rows = staff_selectors.participant_rows(request.user, project, survey, event)
        bounced = invitations.bounced_responses(row.response.pk for row in rows if row.response)
        context.update(
            survey=survey,
            event=event,
            rows=[
                (
                    row,
                    links.response_url(request, row.response) if row.response else "",
                    bounced.get(row.response.pk, "") if row.response else "",
                )
                for row in rows
            ],
            open_list=staff_selectors.takes_new_participants(project, survey, event),
            add_form=ParticipantForm(),
            import_form=ParticipantImportForm(),
            compose_url=links.optional_url(
                "surveys:invitation_compose", [project.pk, survey.pk, event.pk], [project.pk]
            ),
            log_url=links.optional_url("surveys:invitation_log", [project.pk]),
        )
    return render(request, "surveys/staff/distribution.html", context)


def _list_of(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int
) -> tuple[Project, Survey, Event]:
    project, _rights = staff_selectors.access_distribution(request.user, project_id)
    survey = staff_selectors.access_survey(project, survey_id)
    return project, survey, staff_selectors.access_survey_event(project, survey, event_id)


@login_required
@require_POST
@domain_errors
def participant_add(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int
) -> HttpResponse:
    project, survey, event = _list_of(request, project_id, survey_id, event_id)
    form = ParticipantForm(request.POST)
    if not form.is_valid():
        problems = [
            f"{form[name].label}: {' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()
        ]
        messages.error(request, " ".join(problems))
        return redirect(_list_url(project, survey, event))
    given = staff_services.ParticipantInput(**form.cleaned_data)
    try:
        staff_services.participants_add(
            context=AuditContext.from_request(request),
            project=project,
            survey=survey,
            event=event,
            people=[given],
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The participant was added."))
    return redirect(_list_url(project, survey, event))


@login_required
@require_POST
@domain_errors
def participant_import(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int
) -> HttpResponse:
    project, survey, event = _list_of(request, project_id, survey_id, event_id)
    form = ParticipantImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
        return redirect(_list_url(project, survey, event))
    try:
        added = staff_services.participants_add(
            context=AuditContext.from_request(request),
            project=project,
            survey=survey,
            event=event,
            people=staff_services.participants_parse(form.cleaned_data["text"]),
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(count)s participants were added.") % {"count": len(added)})
    return redirect(_list_url(project, survey, event))


@login_required
@domain_errors
def participant_edit(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int, participant_id: int
) -> HttpResponse:
    """One participant: their link, access code and QR code, and their details to change."""
    project, survey, event = _list_of(request, project_id, survey_id, event_id)
    row = staff_selectors.access_participant(request.user, project, survey, event, participant_id)
    participant = row.participant
    assert participant is not None
    initial = {name: getattr(participant, name) for name in ("email", "identifier", "language")}
    form = ParticipantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            staff_services.participant_update(
                context=AuditContext.from_request(request),
                participant=participant,
                given=staff_services.ParticipantInput(**form.cleaned_data),
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The participant was saved."))
            return redirect(_list_url(project, survey, event))
    url = links.response_url(request, row.response) if row.response else ""
    context = {
        "project": project,
        "nav": "survey_distribution",
        "survey": survey,
        "event": event,
        "row": row,
        "form": form,
        "url": url,
        "qr": links.qr(url) if url else "",
        "code_url": links.code_url(request),
        "back_url": _list_url(project, survey, event),
    }
    return render(
        request, "surveys/staff/participant.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
@domain_errors
def participant_delete(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int, participant_id: int
) -> HttpResponse:
    project, survey, event = _list_of(request, project_id, survey_id, event_id)
    row = staff_selectors.access_participant(request.user, project, survey, event, participant_id)
    assert row.participant is not None
    try:
        staff_services.participant_delete(
            context=AuditContext.from_request(request), participant=row.participant
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The participant was removed from the list."))
    return redirect(_list_url(project, survey, event))


# ------------------------------------------------------------------ a record's survey link


@login_required
@domain_errors
def record_link(
    request: AuthedRequest,
    project_id: int,
    record_id: str,
    event_name: str,
    form_name: str,
    instance: int,
) -> HttpResponse:
    """A record's survey link at an event and instance (made when first asked for), with its
    access code and QR code: REDCap's "Survey options" of a data entry form."""
    project = project_selectors.access_project(request.user, project_id)
    rights = project_selectors.member_rights(request.user, project)
    record = record_selectors.access_record(request.user, project, record_id)
    survey = Survey.objects.filter(project=project, form_name=form_name).first()
    event = project.events.filter(unique_name=event_name).first()
    if survey is None or event is None or not project.surveys_enabled:
        raise NotFound(_("No such survey."))
    if event.arm_id not in record_selectors.record_arm_ids(record):
        raise NotFound(_("This event is not in the record's arms."))
    if not rights.can_see_form(form_name):
        raise NotFound(_("No such survey."))
    if not rights.can_edit_form(form_name):
        raise PermissionDenied(_("You may only read this form, so you cannot open its survey."))
    design = design_of(project)
    if instance < 1 or (instance > 1 and not design.repeats_form(event, form_name)):
        raise NotFound(_("This form does not repeat."))
    try:
        response = services.response_link(
            survey=survey, record=record, event=event, instance=instance
        )
    except InvalidInput as error:
        raise NotFound(error.message) from None
    url = links.response_url(request, response)
    label = next((i.label for i in design.instruments if i.name == form_name), form_name)
    context = {
        "project": project,
        "nav": "records",
        "record": record,
        "event": event,
        "survey": survey,
        "instrument_label": label,
        "instance": instance,
        "response": response,
        "url": url,
        "qr": links.qr(url),
        "code_url": links.code_url(request),
    }
    return render(request, "surveys/staff/record_link.html", context)
