"""A project copy with its users keeps every right they hold, the coded ones included."""

from __future__ import annotations

import pytest

from opencrf.projects.models import ProjectMember
from opencrf.projects.rights_services import role_create
from opencrf.records.project_copy import CopyOptions, project_copy

pytestmark = pytest.mark.django_db


def test_a_member_s_own_query_lock_and_signature_rights_are_copied(
    salt_rct, paula_context, site_b_bea
):
    ProjectMember.objects.create(
        project=salt_rct,
        user=site_b_bea,
        data_resolution="open_respond",
        lock_unlock=True,
        e_signature=True,
        source_verify=True,
    )

    copy = project_copy(
        context=paula_context, source=salt_rct, title="C", options=CopyOptions(users=True)
    )

    bea = ProjectMember.objects.get(project=copy, user=site_b_bea)
    assert (bea.data_resolution, bea.lock_unlock, bea.e_signature, bea.source_verify) == (
        "open_respond",
        True,
        True,
        True,
    )


def test_a_role_s_query_lock_and_signature_rights_are_copied(salt_rct, paula_context, site_b_bea):
    role = role_create(
        context=paula_context,
        project=salt_rct,
        name="Monitor",
        rights={
            "data_resolution": "open_close_respond",
            "lock_unlock": True,
            "e_signature": True,
            "data_quality_execute": True,
        },
    )
    ProjectMember.objects.create(project=salt_rct, user=site_b_bea, role=role)

    copy = project_copy(
        context=paula_context, source=salt_rct, title="C", options=CopyOptions(users=True)
    )

    copied = ProjectMember.objects.select_related("role").get(project=copy, user=site_b_bea).role
    assert copied is not None and copied.project_id == copy.pk
    assert (
        copied.data_resolution,
        copied.lock_unlock,
        copied.e_signature,
        copied.data_quality_execute,
        copied.data_quality,
    ) == ("open_close_respond", True, True, True, False)
