"""Invitation pages: compose survey invitations, the survey invitation log (cancel, resend),
and automated survey invitations. Thin: parse, call `invitations` / `automated`, render.

Composing and the log need "Manage survey participants"; automated invitations are part of
the survey's design (the Project Design and Setup right), as in REDCap's Online Designer.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from opencrf.accounts.typing import AuthedRequest
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.core.numbers import whole_number
from opencrf.core.views import domain_errors
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Event, Project
from opencrf.projects.rights import Rights
from opencrf.records import selectors as record_selectors
from opencrf.records.models import Record
from opencrf.surveys import automated, invitations, staff_selectors
from opencrf.surveys.invitation_forms import (
    STATUS_LABELS,
    AutoInvitationForm,
    ComposeForm,
    LogFilterForm,
)
from opencrf.surveys.models import AutoInvitation, Invitation, Participant, Survey

PAGE_SIZE = 100


def _chosen(project: Project, survey_id: int, event_id: int) -> tuple[Survey, Event]:
    survey = staff_selectors.access_survey(project, survey_id)
    return survey, staff_selectors.access_survey_event(project, survey, event_id)


# ------------------------------------------------------------------ compose


@login_required
@domain_errors
def invitation_compose_start(request: AuthedRequest, project_id: int) -> HttpResponse:
    """Compose for the first survey at its first event (or the ones `?survey=&event=` name)."""
    project, _rights = staff_selectors.access_distribution(request.user, project_id)
    surveys = list(Survey.objects.filter(project=project))
    wanted = whole_number(request.GET.get("survey", ""), 12)
    survey = (
        staff_selectors.access_survey(project, wanted)
        if wanted is not None
        else (surveys[0] if surveys else None)
    )
    if survey is None:
        raise NotFound(_("No instrument is a survey yet."))
    event = staff_selectors.access_survey_event(
        project, survey, whole_number(request.GET.get("event", ""), 12)
    )
    return redirect("surveys:invitation_compose", project.pk, survey.pk, event.pk)


def _participant_choices(
    request: AuthedRequest, project: Project, survey: Survey, event: Event
) -> dict[int, Participant]:
    """The participants of the list the user may see and who have an address."""
    rows = staff_selectors.participant_rows(request.user, project, survey, event)
    return {
        row.participant.pk: row.participant
        for row in rows
        if row.participant is not None and row.participant.email
    }


def _label(participant: Participant) -> str:
    who = participant.identifier
    return f"{participant.email} ({who})" if who else participant.email


def _visible_records(request: AuthedRequest, project: Project, ids: list[str]) -> list[Record]:
    """The records named, in the order named; one the user may not see is refused like a
    missing one."""
    found = {
        r.record_id: r
        for r in record_selectors.records_visible_to(request.user, project).filter(
            record_id__in=ids
        )
    }
    missing = [record_id for record_id in ids if record_id not in found]
    if missing:
        raise InvalidInput(_("No such record: %(ids)s.") % {"ids": ", ".join(missing[:20])})
    return [found[record_id] for record_id in ids]


@login_required
@domain_errors
def invitation_compose(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int
) -> HttpResponse:
    project, _rights = staff_selectors.access_distribution(request.user, project_id)
    survey, event = _chosen(project, survey_id, event_id)
    people = _participant_choices(request, project, survey, event)
    rows = design_of(project).rows
    form = ComposeForm(
        request.POST if request.method == "POST" else None,
        participants=[(pk, _label(p)) for pk, p in people.items()],
        rows=rows,
    )
    if request.method == "POST" and form.is_valid():
        try:
            composed = invitations.invitations_compose(
                context=AuditContext.from_request(request),
                survey=survey,
                event=event,
                message=form.message(),
                participants=[people[pk] for pk in form.cleaned_data["participants"]],
                records=_visible_records(request, project, form.record_ids()),
                email_field=form.cleaned_data["email_field"],
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            _report(request, composed)
            return redirect(
                f"{reverse('surveys:invitation_log', args=[project.pk])}?survey={survey.pk}"
            )
    context = {
        "project": project,
        "nav": "survey_distribution",
        "survey": survey,
        "event": event,
        "form": form,
        "surveys": _survey_events(project),
    }
    return render(request, "surveys/invitations/compose.html", context)


def _report(request: AuthedRequest, composed: invitations.Composed) -> None:
    count = len([i for i in composed.invitations if i.reminder == 0])
    text = ngettext(
        "%(count)d invitation was scheduled.", "%(count)d invitations were scheduled.", count
    )
    messages.success(request, text % {"count": count})
    if composed.skipped:
        names = ", ".join(f"{who} ({why})" for who, why in composed.skipped[:50])
        messages.warning(request, _("Not invited: %(names)s") % {"names": names})


def _survey_events(project: Project) -> list[tuple[Survey, Event]]:
    return [
        (survey, event)
        for survey in Survey.objects.filter(project=project)
        for event in staff_selectors.survey_events(project, survey)
    ]


# ------------------------------------------------------------------ the log


def _filtered(rows: QuerySet[Invitation], form: LogFilterForm) -> QuerySet[Invitation]:
    if not form.is_valid():
        return rows
    data = form.cleaned_data
    if data["survey"]:
        rows = rows.filter(response__survey_id=data["survey"])
    if data["event"]:
        rows = rows.filter(response__event_id=data["event"])
    if data["status"]:
        rows = invitations.filter_by_status(rows, data["status"])
    if data["q"]:
        text = data["q"].strip()
        rows = rows.filter(
            Q(email__icontains=text)
            | Q(response__record__record_id=text)
            | Q(participant__identifier__icontains=text)
        )
    if data["since"]:
        rows = rows.filter(send_at__gte=data["since"])
    if data["until"]:
        rows = rows.filter(send_at__lte=data["until"])
    return rows


def _log_rows(page: Any) -> list[dict[str, Any]]:
    rows = []
    for invitation in page:
        status = invitations.shown_status(invitation)
        rows.append(
            {
                "invitation": invitation,
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "reason": invitations.cancel_reason(invitation.error),
                "retry_at": invitation.retry_at if status == Invitation.Status.FAILED else None,
                "record": invitation.response.record,
                "participant": invitation.participant,
                "may_cancel": status != invitations.SENDING and invitations.may_cancel(invitation),
                "may_resend": invitations.may_resend(invitation),
            }
        )
    return rows


def _visible(rights: Rights, project: Project) -> QuerySet[Invitation]:
    return invitations.invitations_visible(rights, project)


@login_required
@domain_errors
def invitation_log(request: AuthedRequest, project_id: int) -> HttpResponse:
    project, rights = staff_selectors.access_distribution(request.user, project_id)
    pairs = _survey_events(project)
    surveys = {survey.pk: survey.title for survey, _event in pairs}
    events = {event.pk: event.name for _survey, event in pairs}
    form = LogFilterForm(
        request.GET or None,
        surveys=list(surveys.items()),
        events=list(events.items()) if project.is_longitudinal else [],
        statuses=[(key, str(label)) for key, label in STATUS_LABELS.items()],
    )
    rows = _filtered(_visible(rights, project), form).order_by("-send_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {
        "project": project,
        "nav": "survey_distribution",
        "form": form,
        "page": page,
        "rows": _log_rows(page),
        "filters": filters.urlencode(),
        "compose": pairs[0] if pairs else None,
        "may_design": rights.design,
    }
    return render(request, "surveys/invitations/log.html", context)


def _back_to_log(request: AuthedRequest, project: Project) -> HttpResponse:
    filters = QueryDict(request.POST.get("filters", ""), mutable=True).urlencode()
    url = reverse("surveys:invitation_log", args=[project.pk])
    return redirect(f"{url}?{filters}" if filters else url)


@login_required
@require_POST
@domain_errors
def invitation_cancel(request: AuthedRequest, project_id: int, invitation_id: int) -> HttpResponse:
    project, _rights = staff_selectors.access_distribution(request.user, project_id)
    try:
        invitations.invitation_cancel(
            context=AuditContext.from_request(request), project=project, invitation_id=invitation_id
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation was cancelled."))
    return _back_to_log(request, project)


@login_required
@require_POST
@domain_errors
def invitation_resend(request: AuthedRequest, project_id: int, invitation_id: int) -> HttpResponse:
    project, _rights = staff_selectors.access_distribution(request.user, project_id)
    try:
        invitations.invitation_resend(
            context=AuditContext.from_request(request), project=project, invitation_id=invitation_id
        )
    except InvalidInput as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation will be sent again within a minute."))
    return _back_to_log(request, project)


# ------------------------------------------------------------------ automated invitations


@login_required
@domain_errors
def auto_invitation_list(request: AuthedRequest, project_id: int) -> HttpResponse:
    project = staff_selectors.access_survey_design(request.user, project_id)
    if not project.surveys_enabled:
        raise NotFound(_("Surveys are not enabled in this project."))
    found = {(a.survey_id, a.event_id): a for a in AutoInvitation.objects.filter(project=project)}
    rows = [
        (survey, event, found.get((survey.pk, event.pk)))
        for survey, event in _survey_events(project)
    ]
    context = {"project": project, "nav": "survey_settings", "rows": rows}
    return render(request, "surveys/invitations/automated_list.html", context)


@login_required
@domain_errors
def auto_invitation_edit(
    request: AuthedRequest, project_id: int, survey_id: int, event_id: int
) -> HttpResponse:
    project = staff_selectors.access_survey_design(request.user, project_id)
    if not project.surveys_enabled:
        raise NotFound(_("Surveys are not enabled in this project."))
    survey, event = _chosen(project, survey_id, event_id)
    found = automated.auto_invitation_of(survey, event)
    form = AutoInvitationForm(
        request.POST if request.method == "POST" else None,
        found=found,
        rows=design_of(project).rows,
    )
    if request.method == "POST" and form.is_valid():
        try:
            automated.auto_invitation_save(
                context=AuditContext.from_request(request),
                survey=survey,
                event=event,
                settings=form.settings(),
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The automated invitation was saved."))
            return redirect("surveys:auto_invitations", project.pk)
    context = {
        "project": project,
        "nav": "survey_settings",
        "survey": survey,
        "event": event,
        "form": form,
        "found": found,
    }
    return render(request, "surveys/invitations/automated_edit.html", context)
