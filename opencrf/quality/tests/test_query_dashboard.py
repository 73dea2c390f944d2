"""The query dashboard and a record's queries panel: filters, counts, sites, rights, hostile input.

Queries are planted with the ORM (the services that open and answer them are tested beside
them); the demo study has three sites: toto_univ (records 1-*), hokurei_med (2-*) and
setouchi_minato (3-*).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opencrf.projects.models import ProjectMember
from opencrf.quality import dashboard_selectors as selectors
from opencrf.quality.dashboard_filters import QueryFilters
from opencrf.quality.query_models import Query, QueryStep

pytestmark = pytest.mark.django_db

ALL_FORMS = (
    "enrolment",
    "baseline",
    "visit",
    "quality_of_life",
    "adverse_event",
    "study_completion",
)


def member(django_user_model, project, username, *, group="", resolution="view", forms=ALL_FORMS):
    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@example.org", password="correct horse battery"
    )
    ProjectMember.objects.create(
        project=project,
        user=user,
        group=project.groups.get(unique_name=group) if group else None,
        data_resolution=resolution,
        form_rights={name: ("read" if name in forms else "none") for name in ALL_FORMS},
    )
    return user


@pytest.fixture
def monitor_mika(django_user_model, demo):
    """A monitor of every site who may open, answer and close queries."""
    return member(django_user_model, demo, "monitor_mika", resolution="open_close_respond")


@pytest.fixture
def site_a_aya(django_user_model, demo):
    """A coordinator at Toto University Hospital who answers queries."""
    return member(django_user_model, demo, "site_a_aya", group="toto_univ", resolution="respond")


@pytest.fixture
def site_b_ben(django_user_model, demo):
    """A coordinator at Hokurei Medical who answers queries."""
    return member(django_user_model, demo, "site_b_ben", group="hokurei_med", resolution="respond")


@pytest.fixture
def viewer_vic(django_user_model, demo):
    """A member who sees every form but has no query right."""
    return member(django_user_model, demo, "viewer_vic", resolution="none")


def plant(
    project,
    record_id,
    *,
    by,
    status="open",
    event="baseline_arm_1",
    form="baseline",
    field="bl_date",
    days_ago=1.0,
    closed_after=None,
    assigned_to=None,
    category="",
    instance=1,
    text="Please check",
):
    """A query with its thread, `days_ago` days old; a closed one took `closed_after` days."""
    opened = timezone.now() - timedelta(days=days_ago)
    closed = opened + timedelta(days=closed_after) if closed_after is not None else None
    query = Query.objects.create(
        project=project,
        record=project.records.get(record_id=record_id),
        event=project.events.get(unique_name=event),
        form_name=form,
        instance=instance,
        field_name=field,
        status=status,
        category=category,
        assigned_to=assigned_to,
        opened_by=by,
        opened_at=opened,
        updated_at=closed or opened,
        closed_at=closed,
    )
    QueryStep.objects.create(query=query, action="open", text=text, author=by, at=opened)
    if status == "responded":
        QueryStep.objects.create(query=query, action="respond", text="Fixed", author=by, at=opened)
    if closed is not None:
        QueryStep.objects.create(query=query, action="close", text="Thanks", author=by, at=closed)
    if status == "verified":
        QueryStep.objects.create(query=query, action="verify", author=by, at=closed)
    return query


def page(project, **params):
    return reverse("quality:queries", args=[project.pk]), params


def shown(response):
    """The ids of the queries listed, in order."""
    return [int(pk) for pk in re.findall(r'<tr data-query="(\d+)"', response.content.decode())]


def count(response, status):
    match = re.search(rf'data-testid="count-{status}">(\d+)<', response.content.decode())
    assert match is not None, status
    return int(match.group(1))


@pytest.fixture
def world(demo, pi_paula, monitor_mika, site_a_aya, site_b_ben):
    """Queries at three sites, statuses, forms, events, users and ages all mixed."""
    q = {}
    q["a_open_old"] = plant(demo, "1-1", by=monitor_mika, days_ago=100, assigned_to=site_a_aya)
    q["a_responded"] = plant(demo, "1-2", by=monitor_mika, status="responded", days_ago=40)
    q["a_closed"] = plant(
        demo,
        "1-3",
        by=pi_paula,
        status="closed",
        days_ago=10,
        closed_after=2,
        form="visit",
        event="week_12_arm_1",
        field="visit_date",
    )
    q["b_open"] = plant(demo, "2-1", by=pi_paula, days_ago=8, assigned_to=site_b_ben)
    q["b_verified"] = plant(
        demo,
        "2-2",
        by=monitor_mika,
        status="verified",
        days_ago=20,
        closed_after=4,
        form="quality_of_life",
        field="qol_date",
    )
    q["c_open_new"] = plant(demo, "3-1", by=pi_paula, days_ago=0.5, category="Missing value")
    return q


# ---------------------------------------------------------------- counts and average


def test_counts_per_status_and_average_time_to_close_are_exact(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    response = client.get(*page(demo))

    assert response.status_code == 200
    assert [
        count(response, s) for s in ("all", "unresolved", "open", "responded", "closed", "verified")
    ] == [6, 4, 3, 1, 1, 1]
    assert "Average time to close: 3.0 days" in response.content.decode()


def test_the_summary_is_one_sql_query_over_the_visible_queries(
    demo, monitor_mika, world, django_assert_num_queries
):
    from opencrf.projects.selectors import member_rights

    rights = member_rights(monitor_mika, demo)
    queries = selectors.visible_queries(demo, rights)

    with django_assert_num_queries(1):
        summary = selectors.status_summary(queries)

    assert dict(summary.counts) == {"open": 3, "responded": 1, "closed": 1, "verified": 1}
    assert summary.average_close == timedelta(days=3)
    assert (summary.unresolved, summary.total) == (4, 6)


def test_the_average_leaves_out_a_closed_query_of_another_filter(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    verified_only = client.get(*page(demo, form="quality_of_life"))
    none_closed = client.get(*page(demo, form="enrolment"))

    assert "Average time to close: 4.0 days" in verified_only.content.decode()
    assert "Average time to close: no closed queries." in none_closed.content.decode()


# ---------------------------------------------------------------- each filter


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("", ["a_open_old", "a_responded", "b_verified", "a_closed", "b_open", "c_open_new"]),
        ("unresolved", ["a_open_old", "a_responded", "b_open", "c_open_new"]),
        ("open", ["a_open_old", "b_open", "c_open_new"]),
        ("responded", ["a_responded"]),
        ("closed", ["a_closed"]),
        ("verified", ["b_verified"]),
    ],
)
def test_the_status_filter_keeps_exactly_its_queries_oldest_first(
    client, demo, monitor_mika, world, status, expected
):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, status=status))

    assert shown(response) == [world[name].pk for name in expected]
    assert count(response, "all") == 6  # the counts ignore the status filter


def test_newest_first_reverses_the_order(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, status="open", sort="newest"))

    assert shown(response) == [world[n].pk for n in ("c_open_new", "b_open", "a_open_old")]


def test_the_user_filter_reads_opened_by_assigned_to_or_either(
    client, demo, monitor_mika, site_a_aya, pi_paula, world
):
    client.force_login(monitor_mika)
    paula, aya = pi_paula.pk, site_a_aya.pk

    opened = client.get(*page(demo, user=paula, role="opened"))
    assigned = client.get(*page(demo, user=aya, role="assigned"))
    aya_opened = client.get(*page(demo, user=aya, role="opened"))
    either = client.get(*page(demo, user=aya))

    assert shown(opened) == [world[n].pk for n in ("a_closed", "b_open", "c_open_new")]
    assert shown(assigned) == [world["a_open_old"].pk]
    assert shown(aya_opened) == []
    assert shown(either) == [world["a_open_old"].pk]
    assert count(opened, "open") == 2 and count(opened, "closed") == 1


def test_the_group_form_event_and_record_filters(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)
    hokurei = demo.groups.get(unique_name="hokurei_med").pk
    week_12 = demo.events.get(unique_name="week_12_arm_1").pk

    group = client.get(*page(demo, group=hokurei))
    form = client.get(*page(demo, form="visit"))
    event = client.get(*page(demo, event=week_12))
    record = client.get(*page(demo, record="3-1"))

    assert shown(group) == [world["b_verified"].pk, world["b_open"].pk]
    assert [count(group, s) for s in ("open", "verified", "all")] == [1, 1, 2]
    assert shown(form) == [world["a_closed"].pk]
    assert shown(event) == [world["a_closed"].pk]
    assert shown(record) == [world["c_open_new"].pk]


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (7, ["a_open_old", "a_responded", "b_verified", "a_closed", "b_open"]),
        (30, ["a_open_old", "a_responded"]),
        (90, ["a_open_old"]),
    ],
)
def test_the_age_filter_keeps_queries_opened_more_than_that_many_days_ago(
    client, demo, monitor_mika, world, age, expected
):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, age=age))

    assert shown(response) == [world[name].pk for name in expected]


def test_unresolved_and_older_than_30_days_combine(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, status="unresolved", age=30))

    assert shown(response) == [world["a_open_old"].pk, world["a_responded"].pk]
    assert 'data-testid="matching">2 queries<' in response.content.decode()


def a_row(response, query):
    body = response.content.decode()
    row = body[body.index(f'<tr data-query="{query.pk}"') :]
    return row[: row.index("</tr>")]


def test_a_row_shows_its_place_people_age_and_last_step(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, record="1-3"), HTTP_ACCEPT_LANGUAGE="en")

    row = a_row(response, world["a_closed"])
    assert ">1-3</th>" in row
    assert '<td class="small">Week 12</td>' in row
    assert '<td class="small">Follow-up visit</td>' in row
    assert f'href="/projects/{demo.pk}/records/1-3/week_12_arm_1/visit/1/#visit_date"' in row
    assert '<div class="text-body-secondary">Visit date</div>' in row
    assert 'data-status="closed"' in row
    assert ">pi_paula<" in row
    assert '<td class="text-end" data-testid="days-open">2</td>' in row
    assert "Closed · pi_paula · " in row and "Thanks" in row


def test_event_form_and_field_names_follow_the_users_language(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, record="1-3"), HTTP_ACCEPT_LANGUAGE="ja")

    row = a_row(response, world["a_closed"])
    assert '<td class="small">12週 / Week 12</td>' in row
    assert '<td class="small">フォローアップ来院</td>' in row
    assert '<div class="text-body-secondary">来院日</div>' in row
    assert '<option value="visit">フォローアップ来院</option>' in response.content.decode()


def test_each_row_links_to_its_query_thread(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)
    thread = reverse("quality:query", args=[demo.pk, world["c_open_new"].pk])

    body = client.get(*page(demo, record="3-1")).content.decode()

    assert f'href="{thread}" data-testid="query-link"' in body


def test_a_page_costs_the_same_sql_queries_whatever_its_size(client, demo, monitor_mika):
    for n in range(60):
        plant(demo, f"{1 + n % 3}-{1 + n % 4}", by=monitor_mika, days_ago=n + 1)
    client.force_login(monitor_mika)
    client.get(*page(demo))  # the first request fills the per-process caches

    with CaptureQueriesContext(connection) as small:
        client.get(*page(demo, per_page=25))
    with CaptureQueriesContext(connection) as large:
        client.get(*page(demo, per_page=100))

    assert len(small) == len(large)


# ---------------------------------------------------------------- paging


def test_rows_are_paged_on_the_server(client, demo, monitor_mika):
    planted = [plant(demo, "1-1", by=monitor_mika, days_ago=100 - n) for n in range(60)]
    client.force_login(monitor_mika)

    first = client.get(*page(demo, per_page=25))
    third = client.get(*page(demo, per_page=25, page=3))
    beyond = client.get(*page(demo, per_page=25, page=99))
    default = client.get(*page(demo))

    assert shown(first) == [q.pk for q in planted[:25]]
    assert shown(third) == [q.pk for q in planted[50:]]
    assert shown(beyond) == shown(third)
    assert len(shown(default)) == 50
    body = first.content.decode()
    assert "Page 1 of 3" in body
    assert 'href="?per_page=25&amp;page=2" data-testid="next"' in body
    assert 'data-testid="previous"' not in body
    assert 'href="?per_page=25&amp;page=2" data-testid="previous"' in third.content.decode()


# ---------------------------------------------------------------- sites, forms and rights


def test_a_site_user_sees_only_the_sites_queries_and_counts(client, demo, site_a_aya, world):
    client.force_login(site_a_aya)

    response = client.get(*page(demo))

    assert shown(response) == [world[n].pk for n in ("a_open_old", "a_responded", "a_closed")]
    assert [count(response, s) for s in ("all", "open", "responded", "closed", "verified")] == [
        3,
        1,
        1,
        1,
        0,
    ]
    assert "Average time to close: 2.0 days" in response.content.decode()
    assert 'name="group"' not in response.content.decode()


def test_a_site_user_cannot_reach_another_sites_queries_by_any_filter(
    client, demo, site_a_aya, site_b_ben, world
):
    client.force_login(site_a_aya)
    hokurei = demo.groups.get(unique_name="hokurei_med").pk

    by_group = client.get(*page(demo, group=hokurei))
    by_record = client.get(*page(demo, record="2-1"))
    by_user = client.get(*page(demo, user=site_b_ben.pk))

    assert by_group.status_code == 400
    assert (
        f"The data access group filter “{hokurei}” is not one you can use here"
        in by_group.content.decode()
    )
    assert shown(by_group) == [world[n].pk for n in ("a_open_old", "a_responded", "a_closed")]
    assert shown(by_record) == [] and count(by_record, "all") == 0
    assert by_user.status_code == 400  # site B's user is on none of the queries site A sees
    assert "site_b_ben" not in by_user.content.decode()


def test_the_user_choices_name_only_people_on_visible_queries(client, demo, site_a_aya, world):
    client.force_login(site_a_aya)

    body = client.get(*page(demo)).content.decode()

    users = re.findall(
        r'<option value="\d+"[^>]*>([^<]+)</option>',
        body[body.index('id="f-user"') : body.index('id="f-role"')],
    )
    assert users == ["monitor_mika", "pi_paula", "site_a_aya"]


def test_queries_on_forms_the_member_cannot_see_are_left_out(
    client, django_user_model, demo, world
):
    no_qol = member(
        django_user_model,
        demo,
        "monitor_nq",
        forms=tuple(f for f in ALL_FORMS if f != "quality_of_life"),
    )
    client.force_login(no_qol)

    response = client.get(*page(demo))
    forced = client.get(*page(demo, form="quality_of_life"))

    assert world["b_verified"].pk not in shown(response)
    assert [count(response, s) for s in ("all", "verified")] == [5, 0]
    assert forced.status_code == 400
    assert world["b_verified"].pk not in shown(forced)


def test_a_member_without_the_query_right_is_refused(client, demo, viewer_vic, world):
    client.force_login(viewer_vic)

    response = client.get(*page(demo))

    assert response.status_code == 403
    assert "You may not view queries in this project." in response.content.decode()
    assert 'data-query="' not in response.content.decode()


def test_someone_outside_the_project_gets_not_found_and_a_visitor_the_login(
    client, django_user_model, demo, world
):
    outsider = django_user_model.objects.create_user(username="outsider_otto", password="x" * 20)

    anonymous = client.get(*page(demo))
    client.force_login(outsider)
    stranger = client.get(*page(demo))
    missing = client.get(reverse("quality:queries", args=[demo.pk + 1000]))

    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert stranger.status_code == 404
    assert missing.status_code == 404


def test_the_page_only_answers_get(client, demo, monitor_mika):
    client.force_login(monitor_mika)

    assert client.post(*page(demo)).status_code == 405


# ---------------------------------------------------------------- hostile filter values


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "deleted"}, "status filter “deleted”"),
        ({"status": "open' OR '1'='1"}, "status filter “open&#x27; OR &#x27;1&#x27;=&#x27;1”"),
        ({"user": "abc"}, "user filter “abc”"),
        ({"user": "1; DROP TABLE quality_query"}, "user filter “1; DROP TABLE quality_query”"),
        ({"role": "owner"}, "user role filter “owner”"),
        ({"group": "-1"}, "data access group filter “-1”"),
        ({"group": "9" * 30}, "data access group filter “" + "9" * 30 + "”"),
        (
            {"form": "<script>alert(1)</script>"},
            "form filter “&lt;script&gt;alert(1)&lt;/script&gt;”",
        ),
        ({"event": "１"}, "event filter “１”"),
        ({"age": "1e9"}, "age filter “1e9”"),
        ({"age": "99999"}, "age filter “99999”"),
        ({"sort": "id; --"}, "sort filter “id; --”"),
        ({"per_page": "1000000"}, "page size filter “1000000”"),
    ],
)
def test_a_hostile_filter_value_is_named_and_ignored(
    client, demo, monitor_mika, world, params, named
):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, **params))

    body = response.content.decode()
    assert response.status_code == 400
    assert f"The {named} is not one you can use here; it was ignored." in body
    assert len(shown(response)) == 6
    assert Query.objects.count() == 6


def test_a_record_filter_with_sql_or_markup_matches_nothing(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    response = client.get(*page(demo, record="1-1' OR '1'='1<b>"))

    assert response.status_code == 200
    assert shown(response) == []
    assert 'value="1-1&#x27; OR &#x27;1&#x27;=&#x27;1&lt;b&gt;"' in response.content.decode()


def test_a_bad_page_number_shows_the_first_page(client, demo, monitor_mika, world):
    client.force_login(monitor_mika)

    for raw in ("abc", "-3", "0", "²", "9" * 40):
        response = client.get(*page(demo, page=raw))
        assert response.status_code == 200, raw
        assert len(shown(response)) == 6


def test_the_filters_parse_to_exactly_what_was_asked(demo, monitor_mika, world):
    from opencrf.projects.selectors import member_rights
    from opencrf.quality.dashboard_filters import parse_filters

    rights = member_rights(monitor_mika, demo)
    forms = selectors.visible_forms(demo, rights)
    choices = selectors.filter_choices(demo, rights, forms, selectors.visible_queries(demo, rights))
    week_12 = demo.events.get(unique_name="week_12_arm_1").pk
    params = {
        "status": "unresolved",
        "user": str(monitor_mika.pk),
        "role": "assigned",
        "form": "visit",
        "event": str(week_12),
        "age": "30",
        "sort": "newest",
        "page": "2",
        "per_page": "100",
        "record": " 1-1 ",
    }

    filters, errors = parse_filters(params, choices)

    assert errors == []
    assert filters == QueryFilters(
        status="unresolved",
        user_id=monitor_mika.pk,
        user_role="assigned",
        form_name="visit",
        event_id=week_12,
        older_than_days=30,
        sort="newest",
        page=2,
        per_page=100,
        record_id="1-1",
    )


# ---------------------------------------------------------------- the record's panel


def record_home(project, record_id):
    return reverse("records:home", args=[project.pk, record_id])


def panel(response):
    body = response.content.decode()
    if 'data-testid="record-queries"' not in body:
        return None
    start = body.index('data-testid="record-queries"')
    return body[start : body.index("</section>", start)]


def test_the_record_home_lists_its_queries_open_ones_first(client, demo, monitor_mika, pi_paula):
    closed = plant(demo, "1-1", by=pi_paula, status="closed", days_ago=1, closed_after=0.5)
    old_open = plant(demo, "1-1", by=pi_paula, days_ago=30)
    new_open = plant(demo, "1-1", by=pi_paula, status="responded", days_ago=2)
    plant(demo, "1-2", by=pi_paula)  # another record's
    client.force_login(monitor_mika)

    html = panel(client.get(record_home(demo, "1-1")))

    assert html is not None
    ids = [int(pk) for pk in re.findall(r'<tr data-query="(\d+)"', html)]
    assert ids == [new_open.pk, old_open.pk, closed.pk]
    assert f'href="/projects/{demo.pk}/quality/queries/?record=1-1"' in html


def test_the_record_panel_is_absent_without_queries_or_without_the_right(
    client, demo, viewer_vic, monitor_mika, pi_paula
):
    plant(demo, "1-1", by=pi_paula)
    client.force_login(viewer_vic)
    no_right = client.get(record_home(demo, "1-1"))
    client.force_login(monitor_mika)
    no_queries = client.get(record_home(demo, "1-2"))

    assert no_right.status_code == 200 and panel(no_right) is None
    assert no_queries.status_code == 200 and panel(no_queries) is None


def test_the_record_panel_leaves_out_forms_the_member_cannot_see(
    client, django_user_model, demo, pi_paula
):
    plant(demo, "1-1", by=pi_paula, form="quality_of_life", field="qol_date")
    seen = plant(demo, "1-1", by=pi_paula)
    no_qol = member(
        django_user_model,
        demo,
        "monitor_nq",
        forms=tuple(f for f in ALL_FORMS if f != "quality_of_life"),
    )
    client.force_login(no_qol)

    html = panel(client.get(record_home(demo, "1-1")))

    assert html is not None
    assert re.findall(r'<tr data-query="(\d+)"', html) == [str(seen.pk)]
