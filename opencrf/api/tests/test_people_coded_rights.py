"""REDCap's coded user rights through the API: the data resolution right, locking with and
without e-signature authority, and the rights each of REDCap's flags reads."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea(study, site_b_bea):
    return ProjectMember.objects.create(project=study, user=site_b_bea)


def export_users(token):
    users = orjson.loads(post({"token": token, "content": "user", "format": "json"}).content)
    return {user["username"]: user for user in users}


def import_users(token, rows, fmt="json"):
    data = orjson.dumps(rows).decode() if fmt == "json" else rows
    return post({"token": token, "content": "user", "format": fmt, "data": data})


@pytest.mark.parametrize(
    ("right", "code"),
    [
        ("none", 0),
        ("view", 1),
        ("respond", 2),
        ("open_close_respond", 3),
        ("open", 4),
        ("open_respond", 5),
    ],
)
def test_the_resolution_right_exports_as_redcap_s_code_and_imports_back(
    token, bea, site_b_bea, right, code
):
    bea.data_resolution = right
    bea.save()

    exported = export_users(token)[site_b_bea.username]
    bea.data_resolution = "none" if right != "none" else "view"
    bea.save()
    response = import_users(token, [exported])

    assert exported["data_quality_resolution"] == code
    assert orjson.loads(response.content) == 1
    bea.refresh_from_db()
    assert bea.data_resolution == right


@pytest.mark.parametrize(
    ("lock", "sign", "code"),
    [(False, False, 0), (True, False, 1), (True, True, 2), (False, True, 0)],
)
def test_lock_records_exports_0_1_or_2(token, bea, site_b_bea, lock, sign, code):
    bea.lock_unlock, bea.e_signature = lock, sign
    bea.save()

    exported = export_users(token)[site_b_bea.username]

    assert exported["lock_records"] == code
    assert exported["lock_records_all_forms"] == int(lock)


@pytest.mark.parametrize(
    ("code", "lock", "sign"), [("0", False, False), ("1", True, False), ("2", True, True)]
)
def test_importing_lock_records_sets_lock_and_signature_authority(
    token, bea, site_b_bea, code, lock, sign
):
    bea.lock_unlock = bea.e_signature = code == "0"  # the opposite of what is imported
    bea.save()

    import_users(token, f"username,lock_records\n{site_b_bea.username},{code}\n", fmt="csv")

    bea.refresh_from_db()
    assert (bea.lock_unlock, bea.e_signature) == (lock, sign)


def test_each_flag_reads_its_own_right(token, bea, site_b_bea):
    bea.data_quality = False
    bea.data_quality_execute = bea.alerts = True
    bea.randomization_setup = bea.randomization_perform = True
    bea.save()

    exported = export_users(token)[site_b_bea.username]

    assert {
        name: exported[name]
        for name in (
            "data_quality_create",
            "data_quality_execute",
            "alerts",
            "random_setup",
            "random_dashboard",
            "random_perform",
        )
    } == {
        "data_quality_create": 0,
        "data_quality_execute": 1,
        "alerts": 1,
        "random_setup": 1,
        "random_dashboard": 0,
        "random_perform": 1,
    }


def test_importing_the_flags_sets_their_own_rights(token, bea, site_b_bea):
    response = import_users(
        token,
        [
            {
                "username": site_b_bea.username,
                "data_quality_create": "0",
                "data_quality_execute": "1",
                "alerts": "1",
                "random_setup": "0",
                "random_dashboard": "1",
                "random_perform": "1",
            }
        ],
    )

    assert orjson.loads(response.content) == 1
    bea.refresh_from_db()
    assert (
        bea.data_quality,
        bea.data_quality_execute,
        bea.alerts,
        bea.randomization_setup,
        bea.randomization_dashboard,
        bea.randomization_perform,
    ) == (False, True, True, False, True, True)


def test_a_user_export_imports_back_unchanged(token, bea, site_b_bea):
    bea.data_resolution = "open_respond"
    bea.lock_unlock = bea.e_signature = bea.data_quality_execute = True
    bea.randomization_dashboard = True
    bea.save()
    exported = export_users(token)[site_b_bea.username]
    audits = AuditEvent.objects.filter(action="member.update").count()

    import_users(token, [exported])

    assert export_users(token)[site_b_bea.username] == exported
    assert AuditEvent.objects.filter(action="member.update").count() == audits


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "data_quality_resolution",
            "6",
            "The value '6' of 'data_quality_resolution' is not one of 0, 1, 2, 3, 4, 5.",
        ),
        (
            "data_quality_resolution",
            "open",
            "The value 'open' of 'data_quality_resolution' is not one of 0, 1, 2, 3, 4, 5.",
        ),
        ("lock_records", "3", "The value '3' of 'lock_records' is not one of 0, 1, 2."),
        ("lock_records", "1; DROP", "The value '1; DROP' of 'lock_records' is not one of 0, 1, 2."),
    ],
)
def test_an_unknown_code_is_refused_by_name_and_nothing_changes(
    token, bea, site_b_bea, key, value, message
):
    audits = AuditEvent.objects.count()

    response = import_users(token, [{"username": site_b_bea.username, "logging": "1", key: value}])

    assert response.status_code == 400
    assert orjson.loads(response.content) == {"error": message}
    bea.refresh_from_db()
    assert (bea.logging, bea.data_resolution, bea.lock_unlock) == (False, "none", False)
    assert AuditEvent.objects.count() == audits


def test_roles_export_the_codes_as_strings_and_import_them(token, study):
    Role.objects.create(
        project=study,
        name="Monitor",
        unique_name="U-MONITOR123",
        data_resolution="open_close_respond",
        lock_unlock=True,
        e_signature=True,
    )

    roles = orjson.loads(post({"token": token, "content": "userRole", "format": "json"}).content)
    created = post(
        {
            "token": token,
            "content": "userRole",
            "format": "json",
            "data": '[{"role_label": "Site", "data_quality_resolution": "2", "lock_records": "1"}]',
        }
    )

    assert (roles[0]["data_quality_resolution"], roles[0]["lock_records"]) == ("3", "2")
    assert orjson.loads(created.content) == 1
    site = Role.objects.get(project=study, name="Site")
    assert (site.data_resolution, site.lock_unlock, site.e_signature) == ("respond", True, False)
    entry = AuditEvent.objects.get(project_id=study.pk, action="role.create")
    assert entry.changes["data_resolution"] == [None, "respond"]
