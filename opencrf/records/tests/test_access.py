"""Rights and data access groups on every record path, with Sam at Osaka and Bea at Kyoto.

Another group's record is exactly a missing one: the same status and the same body.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import ProjectMember
from opencrf.records.models import Record
from opencrf.records.selectors import next_record_id, records_visible_to
from opencrf.records.services import form_save, record_create, record_group_set

from .conftest import coordinator_rights, snapshot

pytestmark = pytest.mark.django_db

SCREENING = ("screening_arm_1", "screening", 1)
# Masked CSRF tokens, CSP nonces and the session's seconds left differ in every response,
# and the language switch carries the address asked for.
PER_RESPONSE = re.compile(
    rb'(name="csrfmiddlewaretoken" value|name="next" value|nonce|data-session-seconds)="[^"]*"'
)


def body(response):
    """The page as the user reads it, without what changes in every response."""
    return PER_RESPONSE.sub(rb'\1=""', response.content)


@pytest.fixture
def osaka_sam(django_user_model, salt_rct, groups):
    """Sam coordinates the Osaka Central site."""
    sam = django_user_model.objects.create_user(username="site_a_sam", password="x")
    ProjectMember.objects.create(
        project=salt_rct, user=sam, group=groups["osaka_central"], **coordinator_rights(salt_rct)
    )
    return sam


@pytest.fixture
def kyoto_record(salt_rct, paula_context, groups, events):
    record = record_create(
        context=paula_context, project=salt_rct, record_id="2-1", group=groups["kyoto_north"]
    )
    form_save(
        context=paula_context,
        record=record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "KB"},
        base_version=None,
    )
    return record


def record_urls(project, record_id):
    form = [project.pk, record_id, *SCREENING]
    return [
        reverse("records:home", args=[project.pk, record_id]),
        reverse("records:form", args=form),
        reverse("records:form_delete", args=form),
        reverse("records:field_history", args=[*form, "initials"]),
        reverse("records:file_download", args=[*form, "initials"]),
        reverse("records:file_preview", args=[*form, "initials"]),
        reverse("records:rename", args=[project.pk, record_id]),
        reverse("records:delete", args=[project.pk, record_id]),
    ]


def test_another_groups_record_is_exactly_a_missing_one_on_every_page(
    client, osaka_sam, salt_rct, kyoto_record
):
    client.force_login(osaka_sam)

    for hidden, missing in zip(
        record_urls(salt_rct, "2-1"), record_urls(salt_rct, "9-99"), strict=True
    ):
        hidden_response, missing_response = client.get(hidden), client.get(missing)
        assert hidden_response.status_code == missing_response.status_code == 404, hidden
        assert body(hidden_response) == body(missing_response), hidden


def test_posts_to_another_groups_record_are_missing_and_change_nothing(
    client, osaka_sam, salt_rct, kyoto_record
):
    client.force_login(osaka_sam)
    before = snapshot(salt_rct)
    form = [salt_rct.pk, "2-1", *SCREENING]

    responses = [
        client.post(reverse("records:form", args=form), {"initials": "XX", "base_version": "1"}),
        client.post(reverse("records:form_delete", args=form)),
        client.post(reverse("records:rename", args=[salt_rct.pk, "2-1"]), {"new_id": "2-9"}),
        client.post(reverse("records:delete", args=[salt_rct.pk, "2-1"])),
        client.post(reverse("records:group", args=[salt_rct.pk, "2-1"]), {"group": ""}),
    ]

    assert [response.status_code for response in responses] == [404] * 5
    assert snapshot(salt_rct) == before
    assert Record.objects.get(project=salt_rct, record_id="2-1").group.unique_name == (
        "kyoto_north"
    )


def test_search_and_the_dashboard_show_only_the_members_group(
    client, osaka_sam, salt_rct, kyoto_record, osaka_record
):
    client.force_login(osaka_sam)

    response = client.get(reverse("records:dashboard", args=[salt_rct.pk]), {"search": "-1"})

    assert [record.record_id for record, _lock, _cells in response.context["rows"]] == ["1-1"]


def test_the_log_hides_entries_about_another_groups_records(
    client, osaka_sam, salt_rct, kyoto_record, osaka_record
):
    client.force_login(osaka_sam)

    response = client.get(reverse("projects:logging", args=[salt_rct.pk]), {"record": "2-1"})
    everything = client.get(reverse("projects:logging", args=[salt_rct.pk]))
    csv = b"".join(
        client.get(reverse("projects:logging_export", args=[salt_rct.pk])).streaming_content
    ).decode()

    assert response.context["rows"] == []
    records = {row.record for row in everything.context["rows"]}
    assert "2-1" not in records
    assert "1-1" in records
    assert ",2-1," not in csv
    assert ",1-1," in csv


def test_the_log_of_a_member_without_a_group_shows_every_record(
    client, pi_paula, salt_rct, kyoto_record, osaka_record
):
    client.force_login(pi_paula)

    response = client.get(reverse("projects:logging", args=[salt_rct.pk]))

    assert {"1-1", "2-1"} <= {row.record for row in response.context["rows"]}


def test_the_log_filters_groups_in_one_query(
    osaka_sam, salt_rct, kyoto_record, osaka_record, django_assert_num_queries
):
    from opencrf.projects.logging_views import project_log_entries

    entries = project_log_entries(osaka_sam, salt_rct)  # reads the member's rights: one query
    with django_assert_num_queries(1):
        records = set(entries.values_list("record", flat=True))

    assert records == {"", "1-1"}


def test_the_log_is_refused_without_the_logging_right(client, osaka_sam, salt_rct):
    ProjectMember.objects.filter(user=osaka_sam).update(logging=False)
    client.force_login(osaka_sam)

    page = client.get(reverse("projects:logging", args=[salt_rct.pk]))
    export = client.get(reverse("projects:logging_export", args=[salt_rct.pk]))

    assert (page.status_code, export.status_code) == (403, 403)


# ---------------------------------------------------------------- numbering and creating


def test_a_grouped_member_creates_records_in_their_group_numbered_with_its_id(
    osaka_sam, salt_rct, groups
):
    context = AuditContext(actor=osaka_sam)
    osaka = groups["osaka_central"]

    first = record_create(context=context, project=salt_rct)
    second = record_create(context=context, project=salt_rct)

    assert (first.record_id, second.record_id) == (f"{osaka.pk}-1", f"{osaka.pk}-2")
    assert first.group == second.group == osaka
    assert next_record_id(salt_rct, osaka) == f"{osaka.pk}-3"


def test_a_grouped_member_cannot_create_a_record_in_another_group(osaka_sam, salt_rct, groups):
    with pytest.raises(InvalidInput) as refused:
        record_create(
            context=AuditContext(actor=osaka_sam), project=salt_rct, group=groups["kobe_port"]
        )

    assert refused.value.message == "No such data access group."
    assert not Record.objects.filter(project=salt_rct).exists()


def test_an_expired_member_sees_no_records(osaka_sam, salt_rct, osaka_record):
    ProjectMember.objects.filter(user=osaka_sam).update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )

    assert list(records_visible_to(osaka_sam, salt_rct)) == []


def test_a_member_without_a_group_gets_plain_numbers(salt_rct, groups, paula_context):
    record = record_create(context=paula_context, project=salt_rct, group=groups["kobe_port"])

    assert record.record_id == "1"
    assert record.group == groups["kobe_port"]


def test_the_add_record_button_numbers_by_group(client, osaka_sam, salt_rct, groups):
    client.force_login(osaka_sam)

    url = client.get(reverse("records:new", args=[salt_rct.pk]))["Location"]
    client.post(url, {"initials": "AN", "screening_complete": "0"})

    record = Record.objects.get(project=salt_rct)
    assert record.record_id == f"{groups['osaka_central'].pk}-1"
    assert record.group == groups["osaka_central"]


def test_creating_a_record_is_refused_without_the_right(client, osaka_sam, salt_rct):
    ProjectMember.objects.filter(user=osaka_sam).update(record_create=False)
    client.force_login(osaka_sam)

    response = client.post(reverse("records:new", args=[salt_rct.pk]))
    dashboard = client.get(reverse("records:dashboard", args=[salt_rct.pk])).content.decode()

    assert response.status_code == 403
    assert not Record.objects.filter(project=salt_rct).exists()
    assert 'data-testid="add-record"' not in dashboard


def test_renaming_and_deleting_are_refused_without_their_rights(
    client, osaka_sam, salt_rct, osaka_record
):
    ProjectMember.objects.filter(user=osaka_sam).update(record_rename=False, record_delete=False)
    client.force_login(osaka_sam)
    before = snapshot(salt_rct)

    rename = client.post(reverse("records:rename", args=[salt_rct.pk, "1-1"]), {"new_id": "X"})
    delete = client.post(reverse("records:delete", args=[salt_rct.pk, "1-1"]))
    home = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"])).content.decode()

    assert (rename.status_code, delete.status_code) == (403, 403)
    assert snapshot(salt_rct) == before
    assert Record.objects.filter(project=salt_rct, record_id="1-1").exists()
    assert reverse("records:rename", args=[salt_rct.pk, "1-1"]) not in home
    assert reverse("records:delete", args=[salt_rct.pk, "1-1"]) not in home


# ---------------------------------------------------------------- moving between groups


def test_a_member_without_a_group_moves_a_record_and_the_move_is_audited(
    client, pi_paula, salt_rct, osaka_record, groups
):
    client.force_login(pi_paula)

    response = client.post(
        reverse("records:group", args=[salt_rct.pk, "1-1"]),
        {"group": str(groups["kobe_port"].pk)},
    )

    assert response.status_code == 302
    osaka_record.refresh_from_db()
    assert osaka_record.group == groups["kobe_port"]
    entry = AuditEvent.objects.get(project_id=salt_rct.pk, action="record.group")
    assert (entry.record, entry.changes) == ("1-1", {"group": ["osaka_central", "kobe_port"]})


def test_a_grouped_member_cannot_move_a_record(osaka_sam, salt_rct, osaka_record, groups):
    before = snapshot(salt_rct)

    with pytest.raises(PermissionDenied):
        record_group_set(
            context=AuditContext(actor=osaka_sam), record=osaka_record, group=groups["kobe_port"]
        )

    osaka_record.refresh_from_db()
    assert osaka_record.group == groups["osaka_central"]
    assert snapshot(salt_rct) == before


# ---------------------------------------------------------------- per-instrument rights


def set_form_right(user, project, form_name, right):
    member = ProjectMember.objects.get(project=project, user=user)
    member.form_rights = {**member.form_rights, form_name: right}
    member.save()


def test_a_read_only_form_renders_disabled_without_save_buttons(
    client, osaka_sam, salt_rct, osaka_record
):
    set_form_right(osaka_sam, salt_rct, "screening", "read")
    client.force_login(osaka_sam)

    response = client.get(reverse("records:form", args=[salt_rct.pk, "1-1", *SCREENING]))

    html = response.content.decode()
    assert response.context["readonly"] is True
    assert 'data-testid="form-readonly"' in html
    assert 'value="stay"' not in html


def test_saving_a_read_only_form_is_refused_and_changes_nothing(
    client, osaka_sam, salt_rct, osaka_record
):
    set_form_right(osaka_sam, salt_rct, "screening", "read")
    client.force_login(osaka_sam)
    before = snapshot(salt_rct)

    response = client.post(
        reverse("records:form", args=[salt_rct.pk, "1-1", *SCREENING]),
        {"initials": "ZZ", "base_version": "0", "action": "stay"},
    )

    assert response.status_code == 403
    assert "You may only read this form; nothing was saved." in response.content.decode()
    assert snapshot(salt_rct) == before


def test_the_save_service_refuses_a_read_only_form(osaka_sam, salt_rct, osaka_record, events):
    set_form_right(osaka_sam, salt_rct, "screening", "read")
    before = snapshot(salt_rct)

    with pytest.raises(PermissionDenied):
        form_save(
            context=AuditContext(actor=osaka_sam),
            record=osaka_record,
            event=events["screening_arm_1"],
            form_name="screening",
            values={"initials": "ZZ"},
            base_version=None,
        )

    assert snapshot(salt_rct) == before


def test_a_form_without_access_is_missing_and_left_off_the_dashboard_and_record_home(
    client, osaka_sam, salt_rct, osaka_record
):
    set_form_right(osaka_sam, salt_rct, "screening", "none")
    client.force_login(osaka_sam)

    form = client.get(reverse("records:form", args=[salt_rct.pk, "1-1", *SCREENING]))
    missing = client.get(reverse("records:form", args=[salt_rct.pk, "1-1", "x_arm_1", "y", 1]))
    dashboard = client.get(reverse("records:dashboard", args=[salt_rct.pk]))
    home = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"]))

    assert form.status_code == 404
    assert body(form) == body(missing)
    assert "screening" not in {
        instrument.name for _event, instrument in dashboard.context["columns"]
    }
    assert "screening" not in {instrument.name for instrument, _cells in home.context["grid"]}
    assert "baseline" in {instrument.name for instrument, _cells in home.context["grid"]}


def test_the_dashboard_takes_the_same_queries_for_more_records_after_rights_filtering(
    client, osaka_sam, salt_rct, paula_context, groups, django_assert_max_num_queries
):
    def add(record_id):
        record_create(
            context=paula_context,
            project=salt_rct,
            record_id=record_id,
            group=groups["osaka_central"],
        )

    add("1-1")
    client.force_login(osaka_sam)
    url = reverse("records:dashboard", args=[salt_rct.pk])
    client.get(url)  # warm the kept design
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for number in range(2, 8):
        add(f"1-{number}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)

    assert len(response.context["rows"]) == 7


def test_an_administrators_actions_are_audited_under_their_name(admin_ada, salt_rct):
    record = record_create(context=AuditContext(actor=admin_ada), project=salt_rct)

    entry = AuditEvent.objects.get(project_id=salt_rct.pk, action="record.create")
    assert (entry.record, entry.actor_name) == (record.record_id, "admin_ada")
