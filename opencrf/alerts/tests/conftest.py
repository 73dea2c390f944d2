"""The demo study with its cast, for the alerts tests: Paula manages alerts for every site,
Sam at Toto University Hospital (site A) only for his site, Bea at Hokurei (site B) enters
data, Mo monitors without the alerts right."""

from __future__ import annotations

import pytest

from opencrf.alerts.evaluation import forget_compiled_alerts
from opencrf.audit.services import AuditContext
from opencrf.demo.loader import load_demo
from opencrf.projects.models import Event, ProjectMember
from opencrf.records.models import Record
from opencrf.records.services import form_save
from opencrf.testing.smtp import smtp  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def _no_kept_alerts():
    forget_compiled_alerts()
    yield
    forget_compiled_alerts()


@pytest.fixture
def demo(pi_paula):
    project, _created = load_demo(owner_username="pi_paula")
    project.translations.all().delete()
    project.languages.all().delete()
    member, _new = ProjectMember.objects.get_or_create(project=project, user=pi_paula)
    ProjectMember.objects.filter(pk=member.pk).update(
        alerts=True, design=True, group=None, role=None
    )
    return project


def _member(django_user_model, demo, username, email, group, **rights):
    user = django_user_model.objects.create_user(
        username=username, email=email, password="correct horse battery"
    )
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name=group) if group else None,
        form_rights={i.name: "edit" for i in demo.instruments.all()},
        record_create=True,
        **rights,
    )
    return user


@pytest.fixture
def site_a_sam(django_user_model, demo):
    return _member(
        django_user_model, demo, "site_a_sam", "sam@example.org", "toto_univ", alerts=True
    )


@pytest.fixture
def site_b_bea(django_user_model, demo):
    return _member(django_user_model, demo, "site_b_bea", "bea@example.org", "hokurei_med")


@pytest.fixture
def monitor_mo(django_user_model, demo):
    return _member(django_user_model, demo, "monitor_mo", "mo@example.org", None)


@pytest.fixture
def events(demo):
    return {event.unique_name: event for event in Event.objects.filter(project=demo)}


@pytest.fixture
def save(demo, events, django_capture_on_commit_callbacks):
    """Save a form as the system does, running the post-commit hooks."""

    def saving(record_id, values, *, form="adverse_event", event="week_12_arm_1", instance=1):
        record = Record.objects.get(project=demo, record_id=record_id)
        with django_capture_on_commit_callbacks(execute=True):
            form_save(
                context=AuditContext.system(),
                record=record,
                event=events[event],
                form_name=form,
                instance=instance,
                values=values,
                base_version=None,
                reason="test",
            )
        return record

    return saving
