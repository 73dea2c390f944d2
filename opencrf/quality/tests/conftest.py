"""The demo study with its cast, for the data quality tests."""

from __future__ import annotations

import pytest

from opencrf.projects.models import ProjectMember


@pytest.fixture
def demo(pi_paula):
    from opencrf.demo.loader import load_demo

    project, _created = load_demo(owner_username="pi_paula")
    if not ProjectMember.objects.filter(project=project, user=pi_paula).exists():
        ProjectMember.objects.create(project=project, user=pi_paula, design=True)
    ProjectMember.objects.filter(project=project, user=pi_paula).update(
        design=True, data_quality=True, record_create=True
    )
    return project


@pytest.fixture
def site_a_sam(django_user_model, demo):
    """A coordinator at Toto University Hospital: runs rules, sees only the site's records."""
    user = django_user_model.objects.create_user(
        username="site_a_sam", email="sam@example.org", password="correct horse battery"
    )
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name="toto_univ"),
        data_quality_execute=True,
        record_create=True,
        form_rights={i.name: "edit" for i in demo.instruments.all()},
    )
    return user


@pytest.fixture
def monitor_mo(django_user_model, demo):
    """A monitor without any data quality right."""
    user = django_user_model.objects.create_user(
        username="monitor_mo", email="mo@example.org", password="correct horse battery"
    )
    ProjectMember.objects.create(
        project=demo, user=user, form_rights={i.name: "read" for i in demo.instruments.all()}
    )
    return user
