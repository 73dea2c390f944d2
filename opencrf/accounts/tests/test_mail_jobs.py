"""E-mails to visitors are sent by jobs after the response (issue 13).

Sending inside the request made a known address answer more slowly than an unknown one, so
response times told which addresses have accounts. Now both requests do the same work: they
enqueue the same job and send nothing; the job sends the mail, for the known address only.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tasks import default_task_backend

from opencrf.accounts.models import AccountRequest

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password_reset")
REQUEST = {
    "last_name": "Sato",
    "first_name": "Hana",
    "institution": "Other University",
    "purpose": "A multicentre study of salt intake.",
    "agree": "on",
}


@pytest.fixture
def held_jobs(settings):
    """Jobs are kept, not run: what a request enqueued can be read, and run later."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    default_task_backend.clear()
    return default_task_backend


def run(jobs) -> None:
    for job in jobs:
        job.task.call(*job.args, **job.kwargs)


def shape(job) -> tuple[str, list[type]]:
    return job.task.name, [type(arg) for arg in job.args]


def test_a_reset_for_a_known_and_an_unknown_address_enqueues_the_same_job_and_sends_nothing(
    client, smtp, pi_paula, held_jobs
):
    client.post(RESET, {"email": "paula@example.org"})
    known = list(held_jobs.results)
    held_jobs.clear()
    client.post(RESET, {"email": "nobody@example.org"})
    unknown = list(held_jobs.results)

    assert smtp.messages == []
    assert [job.args for job in known] == [
        [
            "paula@example.org",
            "en",
            "accounts/email/password_reset.txt",
            "accounts/email/password_reset_subject.txt",
        ]
    ]
    assert [shape(job) for job in known] == [shape(job) for job in unknown]

    run(known + unknown)

    assert [m["To"] for m in smtp.messages] == ["paula@example.org"]
    assert "https://edc.example.ac.jp/accounts/password/reset/" in smtp.body(smtp.messages[0])


def test_an_account_request_for_a_known_and_a_new_address_enqueues_the_same_job(
    client, smtp, django_user_model, held_jobs, django_capture_on_commit_callbacks
):
    django_user_model.objects.create_user(username="hana", email="hana@known.example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:request"), REQUEST | {"email": "hana@known.example.jp"})
    known = list(held_jobs.results)
    held_jobs.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:request"), REQUEST | {"email": "new@example.jp"})
    fresh = list(held_jobs.results)

    assert smtp.messages == []
    assert (
        [job.task.name for job in known]
        == [job.task.name for job in fresh]
        == ["send_account_request_mails"]
    )
    assert [job.args for job in known] == [[None]]
    assert [job.args for job in fresh] == [[AccountRequest.objects.get().pk]]

    with django_capture_on_commit_callbacks(execute=True):
        run(known + fresh)

    assert [m["To"] for m in smtp.messages] == ["new@example.jp"]
