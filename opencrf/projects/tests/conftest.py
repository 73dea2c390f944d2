"""Fixtures of the project tests: the real SMTP server e-mails go to."""

from opencrf.testing.smtp import smtp  # noqa: F401 (a fixture)
