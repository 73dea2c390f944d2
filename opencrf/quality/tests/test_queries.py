"""Queries on the demo study: a monitor opens one on a value, the site answers, the monitor
closes it. Every move, every refusal (nothing changed), rights levels and site isolation."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects.models import FieldNotes, ProjectMember, ProjectStatus
from opencrf.quality.query_models import Query, QueryStep
from opencrf.quality.query_selectors import access_field_place, access_query
from opencrf.quality.query_services import query_open, query_step

pytestmark = pytest.mark.django_db

WEIGHT = ("1-2", "baseline_arm_1", "baseline", 1, "weight")  # 71.8 kg, at Toto University
HOSTILE = "<script>alert('x')</script> & \"quotes\""


def member(django_user_model, project, username, *, group="", resolution="none", forms="edit"):
    user = django_user_model.objects.create_user(username=username, password="x")
    ProjectMember.objects.create(
        project=project,
        user=user,
        group=project.groups.get(unique_name=group) if group else None,
        data_resolution=resolution,
        form_rights={i.name: forms for i in project.instruments.all()},
    )
    return user


@pytest.fixture
def study(demo):
    demo.field_notes = FieldNotes.RESOLUTION
    demo.save(update_fields=["field_notes"])
    return demo


@pytest.fixture
def mo(django_user_model, study):
    """A monitor of every site: opens, closes, reopens and verifies; reads the forms."""
    return member(
        django_user_model, study, "monitor_mo", resolution="open_close_respond", forms="read"
    )


@pytest.fixture
def sam(django_user_model, study):
    """A coordinator at Toto University Hospital: answers queries, edits forms."""
    return member(django_user_model, study, "site_a_sam", group="toto_univ", resolution="respond")


@pytest.fixture
def bea(django_user_model, study):
    """A coordinator at Hokurei: may do everything with queries, but only on her site."""
    return member(
        django_user_model,
        study,
        "site_b_bea",
        group="hokurei_med",
        resolution="open_close_respond",
    )


def ctx(user):
    return AuditContext(actor=user, source="web")


def place(user, project, where=WEIGHT):
    return access_field_place(user, project, *where)


def opened(user, project, text="Please check the weight against the source.", **kwargs):
    return query_open(
        context=ctx(user), place=place(user, project), category="source", text=text, **kwargs
    )


def audit(project):
    return list(
        AuditEvent.objects.filter(project_id=project.pk, action__startswith="query.")
        .order_by("sequence")
        .values_list("action", "record", "instrument", "changes__status")
    )


def page_of(response):
    """The page without what differs between any two responses (tokens, nonces)."""
    return re.sub(
        rb'(csrfmiddlewaretoken" value|name="next" value|nonce|data-session-seconds)="[^"]*"',
        b"",
        response.content,
    )


def snapshot(query):
    query.refresh_from_db()
    return (query.status, query.closed_at, QueryStep.objects.filter(query=query).count())


def thread(project, where=WEIGHT):
    return reverse("quality:field_thread", args=[project.pk, *where])


# ---- moves -------------------------------------------------------------------------------


def test_a_monitor_opens_a_query_that_keeps_the_value_and_is_audited(study, mo, sam):
    query = opened(mo, study, assignee_id=sam.pk)

    step = query.steps.get()
    assert (query.status, query.field_name, query.category) == ("open", "weight", "source")
    assert query.assigned_to == sam
    assert (step.action, step.value, step.author) == ("open", "71.8", mo)
    assert audit(study) == [("query.open", "1-2", "baseline", ["", "open"])]
    entry = AuditEvent.objects.get(action="query.open")
    assert entry.record_key == query.record_id
    assert entry.changes["assigned_to"] == "site_a_sam"


def test_every_move_writes_a_step_with_the_value_then(study, mo, sam):
    query = opened(mo, study)
    query_step(
        context=ctx(sam),
        query=query,
        action="respond",
        category="updated",
        text="Corrected to 72.8 from the clinic chart.",
    )
    query_step(context=ctx(mo), query=query, action="close")
    query_step(context=ctx(mo), query=query, action="reopen", text="Chart says 72.3.")
    query_step(context=ctx(mo), query=query, action="verify", text="Checked on site.")
    query_step(context=ctx(mo), query=query, action="reopen", text="Once more.")
    query_step(context=ctx(mo), query=query, action="close")

    query.refresh_from_db()
    steps = list(query.steps.values_list("action", "category", "value", "author__username"))
    assert query.status == "closed"
    assert query.closed_at is not None
    assert steps == [
        ("open", "source", "71.8", "monitor_mo"),
        ("respond", "updated", "71.8", "site_a_sam"),
        ("close", "", "71.8", "monitor_mo"),
        ("reopen", "", "71.8", "monitor_mo"),
        ("verify", "", "71.8", "monitor_mo"),
        ("reopen", "", "71.8", "monitor_mo"),
        ("close", "", "71.8", "monitor_mo"),
    ]
    assert [row[3] for row in audit(study)] == [
        ["", "open"],
        ["open", "responded"],
        ["responded", "closed"],
        ["closed", "open"],
        ["open", "verified"],
        ["verified", "open"],
        ["open", "closed"],
    ]
    assert [row[0] for row in audit(study)] == [
        "query.open",
        "query.respond",
        "query.close",
        "query.reopen",
        "query.verify",
        "query.reopen",
        "query.close",
    ]


def test_an_open_or_closed_query_may_be_verified_directly(study, mo):
    first, second = opened(mo, study), opened(mo, study)
    query_step(context=ctx(mo), query=second, action="close")

    query_step(context=ctx(mo), query=first, action="verify")
    query_step(context=ctx(mo), query=second, action="verify")

    assert [snapshot(q)[0] for q in (first, second)] == ["verified", "verified"]


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        (["close"], "respond"),
        (["close"], "close"),
        ([], "reopen"),
        (["respond"], "respond"),
        (["respond"], "reopen"),
        (["verify"], "verify"),
        (["verify"], "close"),
        (["verify"], "respond"),
    ],
)
def test_a_move_the_status_does_not_allow_is_refused_and_changes_nothing(study, mo, moves, refused):
    query = opened(mo, study)
    for action in moves:
        query_step(context=ctx(mo), query=query, action=action, category="correct", text="t")
    before, logged = snapshot(query), len(audit(study))

    with pytest.raises(InvalidInput) as error:
        query_step(context=ctx(mo), query=query, action=refused, category="correct", text="t")

    assert "cannot be" in error.value.message
    assert "nothing was changed" in error.value.message
    assert snapshot(query) == before
    assert len(audit(study)) == logged


@pytest.mark.parametrize(
    ("action", "category", "text", "message"),
    [
        ("respond", "", "Fixed", "Choose the response's category from the list."),
        ("respond", "bogus", "Fixed", "Choose the response's category from the list."),
        ("respond", "updated", "   ", "Write the response."),
        ("fly", "", "", "No such query action: fly."),
        ("open", "", "", "No such query action: open."),
    ],
)
def test_bad_step_input_is_refused_with_the_reason(study, mo, action, category, text, message):
    query = opened(mo, study)
    before = snapshot(query)

    with pytest.raises(InvalidInput) as error:
        query_step(context=ctx(mo), query=query, action=action, category=category, text=text)

    assert error.value.message == message
    assert snapshot(query) == before


def test_a_reopening_needs_a_reason(study, mo):
    query = opened(mo, study)
    query_step(context=ctx(mo), query=query, action="close")

    with pytest.raises(InvalidInput) as error:
        query_step(context=ctx(mo), query=query, action="reopen", text="")

    assert error.value.message == "Say why the query is reopened."
    assert snapshot(query)[0] == "closed"


@pytest.mark.parametrize(
    ("category", "text", "message"),
    [
        ("", "Check", "Choose the query's category from the list."),
        ("nonsense", "Check", "Choose the query's category from the list."),
        ("source", "  ", "Write the query: what should be checked?"),
        ("source", "x" * 10_001, "The text is too long: at most 10000 characters."),
    ],
)
def test_a_query_without_category_or_text_is_not_opened(study, mo, category, text, message):
    with pytest.raises(InvalidInput) as error:
        query_open(context=ctx(mo), place=place(mo, study), category=category, text=text)

    assert error.value.message == message
    assert not Query.objects.exists()
    assert audit(study) == []


# ---- rights ------------------------------------------------------------------------------

LEVELS = [
    # level, open, respond, close (reopen, verify)
    ("view", False, False, False),
    ("respond", False, True, False),
    ("open", True, False, False),
    ("open_respond", True, True, False),
    ("open_close_respond", True, True, True),
]


@pytest.mark.parametrize(("level", "opens", "responds", "closes"), LEVELS)
def test_each_level_of_the_right_allows_what_redcap_allows(
    django_user_model, study, mo, level, opens, responds, closes
):
    user = member(django_user_model, study, "someone", resolution=level)
    query = opened(mo, study)

    def attempt(action, **kwargs):
        try:
            if action == "open":
                opened(user, study)
            else:
                query_step(context=ctx(user), query=query, action=action, **kwargs)
        except PermissionDenied:
            return False
        return True

    assert attempt("open") is opens
    assert attempt("respond", category="correct", text="As is") is responds
    assert attempt("close") is closes


def test_without_the_right_to_see_queries_nothing_is_shown_or_done(django_user_model, study, mo):
    user = member(django_user_model, study, "nobody", resolution="none")
    query = opened(mo, study)
    client = Client()
    client.force_login(user)

    with pytest.raises(PermissionDenied):
        access_query(user, study, query.pk)
    page = client.get(reverse("quality:query", args=[study.pk, query.pk]))
    thread_page = client.get(thread(study)).content.decode()
    posted = client.post(
        reverse("quality:query_step", args=[study.pk, query.pk]), {"action": "close"}
    )

    assert page.status_code == 403
    assert posted.status_code == 403
    assert 'data-testid="query"' not in thread_page
    assert snapshot(query)[0] == "open"


def test_a_member_who_may_not_see_the_form_cannot_reach_its_queries(django_user_model, study, mo):
    user = member(django_user_model, study, "blind", resolution="open_close_respond", forms="none")
    query = opened(mo, study)

    with pytest.raises(NotFound):
        access_query(user, study, query.pk)
    with pytest.raises(NotFound):
        place(user, study)


@pytest.mark.parametrize(
    "who",
    [
        "site_b_bea",  # another site's coordinator
        "viewer",  # may only view queries
        "blind",  # may not see the form
        "stranger",  # not a member
    ],
)
def test_a_query_is_assigned_only_to_a_member_who_may_answer_it_here(
    django_user_model, study, mo, bea, who
):
    if who == "viewer":
        member(django_user_model, study, who, resolution="view")
    elif who == "blind":
        member(django_user_model, study, who, resolution="respond", forms="none")
    elif who == "stranger":
        django_user_model.objects.create_user(username=who, password="x")
    target = django_user_model.objects.get(username=who)

    with pytest.raises(InvalidInput) as error:
        opened(mo, study, assignee_id=target.pk)

    assert "cannot be assigned to that user" in error.value.message
    assert not Query.objects.exists()


# ---- group isolation -----------------------------------------------------------------------


def test_another_sites_record_is_refused_as_missing_and_nothing_changes(study, mo, bea):
    query = opened(mo, study)
    before, logged = snapshot(query), len(audit(study))
    client = Client()
    client.force_login(bea)

    with pytest.raises(NotFound):
        place(bea, study)
    with pytest.raises(NotFound):
        access_query(bea, study, query.pk)
    with pytest.raises(NotFound):
        query_step(context=ctx(bea), query=query, action="close")
    theirs = client.get(reverse("quality:query", args=[study.pk, query.pk]))
    missing = client.get(reverse("quality:query", args=[study.pk, 999_999]))
    step = client.post(
        reverse("quality:query_step", args=[study.pk, query.pk]), {"action": "close"}
    )
    opening = client.post(
        reverse("quality:query_open", args=[study.pk, *WEIGHT]),
        {"category": "source", "text": "Mine now"},
    )
    other_thread = client.get(thread(study))
    no_record = client.get(thread(study, ("9-9", *WEIGHT[1:])))

    assert (theirs.status_code, missing.status_code, step.status_code) == (404, 404, 404)
    assert page_of(theirs) == page_of(missing)
    assert opening.status_code == 404
    assert (other_thread.status_code, page_of(other_thread)) == (404, page_of(no_record))
    assert snapshot(query) == before
    assert len(audit(study)) == logged
    assert Query.objects.count() == 1


def test_a_coordinator_answers_queries_on_her_own_site(study, mo, sam):
    query = opened(mo, study)

    query_step(context=ctx(sam), query=query, action="respond", category="correct", text="OK")

    assert snapshot(query)[0] == "responded"


# ---- project status and mode ----------------------------------------------------------------


def test_queries_are_worked_in_analysis_but_not_in_a_completed_project(study, mo):
    query = opened(mo, study)
    study.status = ProjectStatus.ANALYSIS
    study.save(update_fields=["status"])
    query_step(context=ctx(mo), query=query, action="close")
    study.status = ProjectStatus.COMPLETED
    study.save(update_fields=["status"])
    before = snapshot(query)

    with pytest.raises(InvalidInput) as reopening:
        query_step(context=ctx(mo), query=query, action="reopen", text="Again")
    with pytest.raises(InvalidInput):
        opened(mo, study)

    assert "completed and read-only" in reopening.value.message
    assert snapshot(query) == before
    assert Query.objects.count() == 1


def test_no_query_is_opened_while_the_project_uses_the_comment_log(study, mo):
    study.field_notes = FieldNotes.COMMENT_LOG
    study.save(update_fields=["field_notes"])

    with pytest.raises(InvalidInput) as error:
        opened(mo, study)

    assert error.value.message == (
        "This project does not use the data resolution workflow: no query was opened."
    )
    assert not Query.objects.exists()


def test_a_query_cannot_go_on_a_form_without_saved_data_or_an_unknown_field(study, mo):
    with pytest.raises(NotFound):
        place(mo, study, ("1-4", "week_12_arm_1", "visit", 1, "v_weight"))  # no week 12 yet
    with pytest.raises(NotFound):
        place(mo, study, ("1-2", "baseline_arm_1", "baseline", 1, "nope"))
    with pytest.raises(NotFound):
        place(mo, study, ("1-2", "baseline_arm_1", "baseline", 1, "anthro_info"))  # descriptive


# ---- pages -----------------------------------------------------------------------------------


def test_the_thread_shows_every_step_with_its_time_zone_and_escapes_texts(client, study, mo, sam):
    query = opened(mo, study, text=HOSTILE)
    query_step(context=ctx(sam), query=query, action="respond", category="unable", text=HOSTILE)
    client.force_login(mo)

    body = client.get(reverse("quality:query", args=[study.pk, query.pk])).content.decode()

    assert "<script>alert" not in body
    assert (
        body.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;")
        == 2
    )
    assert body.count('data-testid="query-step"') == 2
    assert "Unable to update" in body
    assert "Does not match the source document" in body
    assert re.search(r"\d\d:\d\d:\d\d [A-Z]+ \(UTC[+-]\d{4}\)</time>", body)
    assert 'data-status="responded"' in body
    assert '<option value="close">Close the query</option>' in body
    assert '<option value="respond">' not in body


def test_the_form_page_shows_a_balloon_coloured_by_status(client, study, mo, sam):
    form = reverse("records:form", args=[study.pk, *WEIGHT[:4]])
    client.force_login(mo)
    empty = client.get(form).content.decode()
    query = opened(mo, study)
    open_page = client.get(form).content.decode()
    query_step(context=ctx(sam), query=query, action="respond", category="correct", text="OK")
    responded = client.get(form).content.decode()
    query_step(context=ctx(mo), query=query, action="close")
    closed = client.get(form).content.decode()
    study.field_notes = FieldNotes.NONE
    study.save(update_fields=["field_notes"])
    none = client.get(form).content.decode()

    link = reverse("quality:field_thread", args=[study.pk, *WEIGHT])
    assert f'href="{link}" data-testid="note-mark-weight"' in empty
    assert 'data-testid="note-mark-anthro_info"' not in empty
    assert 'class="badge text-bg-danger' in open_page
    assert 'data-status="open" data-testid="query-mark-weight"' in open_page
    assert 'data-status="responded"' in responded and "text-bg-primary" in responded
    assert 'data-status="closed"' in closed and "text-bg-success" in closed
    assert "crf-query-mark" not in none and "crf-note-mark" not in none


def test_opening_answering_and_closing_through_the_pages(client, study, mo, sam):
    client.force_login(mo)
    opened_page = client.post(
        reverse("quality:query_open", args=[study.pk, *WEIGHT]),
        {"category": "out_of_range", "text": "Weight looks off", "assigned_to": str(sam.pk)},
    )
    query = Query.objects.get()
    sam_client = Client()
    sam_client.force_login(sam)
    answered = sam_client.post(
        reverse("quality:query_step", args=[study.pk, query.pk]),
        {"action": "respond", "category": "updated", "text": "Fixed"},
    )
    closing_by_sam = sam_client.post(
        reverse("quality:query_step", args=[study.pk, query.pk]), {"action": "close"}
    )
    closed = client.post(
        reverse("quality:query_step", args=[study.pk, query.pk]), {"action": "close"}
    )

    assert opened_page.status_code == 302
    assert opened_page["Location"].endswith(f"#query-{query.pk}")
    assert query.assigned_to == sam
    assert answered.status_code == 302
    assert closing_by_sam.status_code == 403
    assert closed.status_code == 302
    assert snapshot(query)[0] == "closed"


def test_a_refused_page_action_shows_the_reason_and_keeps_the_text(client, study, mo):
    client.force_login(mo)

    response = client.post(
        reverse("quality:query_open", args=[study.pk, *WEIGHT]),
        {"category": "", "text": "Kept <b>text</b>"},
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose the query&#x27;s category from the list." in body
    assert "Kept &lt;b&gt;text&lt;/b&gt;</textarea>" in body
    assert not Query.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(study, mo):
    query = opened(mo, study)
    client = Client(enforce_csrf_checks=True)
    client.force_login(mo)

    step = client.post(
        reverse("quality:query_step", args=[study.pk, query.pk]), {"action": "close"}
    )
    opening = client.post(
        reverse("quality:query_open", args=[study.pk, *WEIGHT]),
        {"category": "source", "text": "x"},
    )

    assert (step.status_code, opening.status_code) == (403, 403)
    assert snapshot(query)[0] == "open"
    assert Query.objects.count() == 1


def test_the_settings_page_chooses_the_mode_and_audits_it(client, demo, pi_paula):
    client.force_login(pi_paula)
    page = client.get(reverse("projects:settings", args=[demo.pk]))
    data = {
        name: value
        for name, value in page.context["form"].initial.items()
        if value not in (False, None)
    }

    response = client.post(
        reverse("projects:settings", args=[demo.pk]), {**data, "field_notes": "resolution"}
    )

    demo.refresh_from_db()
    entry = AuditEvent.objects.filter(action="project.update").latest("sequence")
    assert response.status_code == 302
    assert demo.field_notes == "resolution"
    assert entry.changes == {"field_notes": ["comment_log", "resolution"]}
