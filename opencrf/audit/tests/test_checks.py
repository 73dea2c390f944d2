"""`opencrf check --deploy` refuses a short audit key: a guessed key forges checkpoints."""

from __future__ import annotations

from opencrf.audit.checks import audit_key_check


def test_the_example_placeholder_is_refused_as_a_key(settings):
    settings.OPENCRF_AUDIT_KEY = "CHANGE-ME"

    [error] = audit_key_check()

    assert error.id == "audit.E001"
    assert error.msg.startswith(
        "OPENCRF_AUDIT_KEY has 9 characters; it signs the audit checkpoints and needs at least "
        "32 random ones"
    )


def test_a_long_key_and_an_unset_key_pass(settings):
    settings.OPENCRF_AUDIT_KEY = "k" * 32
    assert audit_key_check() == []
    settings.OPENCRF_AUDIT_KEY = ""
    assert audit_key_check() == []
