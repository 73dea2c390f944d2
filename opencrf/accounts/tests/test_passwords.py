"""The password policy: length and character classes from the site settings, common and
breached passwords refused, optional rotation, and the time a password was set."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import password_validators_help_texts
from django.contrib.auth.password_validation import validate_password as django_validate
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from opencrf.accounts.models import User
from opencrf.accounts.passwords import BREACHED_PASSWORDS_ENV, password_is_breached
from opencrf.accounts.selectors import site_settings

pytestmark = pytest.mark.django_db

STRONG = "plum kettle orbit 42"


def refusals(password: str, user=None) -> list[str]:
    try:
        django_validate(password, user)
    except ValidationError as error:
        return [e.code for e in error.error_list]
    return []


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest().upper()


def breached_file(tmp_path: Path, passwords: list[str], *, filler: int = 2000) -> Path:
    lines = [f"{sha1(p)}:{n + 1}" for n, p in enumerate(passwords)]
    lines += [f"{secrets.token_hex(20).upper()}:3" for _ in range(filler)]
    path = tmp_path / "pwned.txt"
    path.write_text("\r\n".join(sorted(lines)) + "\r\n", encoding="ascii")
    return path


def test_the_minimum_length_comes_from_the_site_settings():
    assert refusals("tiny kettle") == ["password_too_short"]
    assert refusals(STRONG) == []

    settings = site_settings()
    settings.password_min_length = 24
    settings.save()

    assert refusals(STRONG) == ["password_too_short"]
    assert "at least 24 characters" in " ".join(password_validators_help_texts())


def test_character_classes_are_required_only_when_the_site_asks():
    settings = site_settings()
    settings.password_character_classes = True
    settings.save()

    assert refusals(STRONG) == ["password_character_classes"]
    assert refusals("Plum kettle orbit 42!") == []
    assert "upper- and lower-case letters, digits and symbols" in " ".join(
        password_validators_help_texts()
    )


def test_common_passwords_are_refused():
    assert "password_too_common" in refusals("password1234")


def test_passwords_in_the_breached_list_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(BREACHED_PASSWORDS_ENV, str(breached_file(tmp_path, [STRONG])))

    assert refusals(STRONG) == ["password_breached"]
    assert refusals("quince lantern river 7") == []


def test_the_breached_list_is_searched_at_its_first_last_and_middle_lines(tmp_path):
    path = breached_file(tmp_path, [])
    lines = path.read_text(encoding="ascii").split()
    for index in (0, 1, len(lines) // 2, len(lines) - 1):
        digest = lines[index].split(":")[0]
        assert _digest_found(path, digest), index
    assert not password_is_breached("not listed at all", path)


def _digest_found(path: Path, digest: str) -> bool:
    from opencrf.accounts import passwords

    with path.open("rb") as handle:
        return passwords._sorted_file_contains(handle, path.stat().st_size, digest.encode())


def test_without_the_variable_no_list_is_read(monkeypatch):
    monkeypatch.delenv(BREACHED_PASSWORDS_ENV, raising=False)

    assert refusals(STRONG) == []


def test_a_password_containing_the_user_name_is_refused_whatever_its_case():
    dave = User(username="dave", email="d.smith@hosp.example.ac.jp")

    assert refusals("dave12345678", dave) == ["password_contains_user_name"]
    assert refusals("plum DAVE kettle 42", dave) == ["password_contains_user_name"]
    assert refusals(STRONG, dave) == []


def test_a_password_containing_the_e_mail_local_part_is_refused():
    dave = User(username="dave", email="d.smith@hosp.example.ac.jp")

    assert refusals("kettle d.Smith 4242", dave) == ["password_contains_user_name"]
    assert refusals("kettle hosp.example 42", dave) == []


def test_names_shorter_than_three_characters_are_not_searched_for():
    al = User(username="al", email="al@hosp.example.ac.jp")

    assert refusals("totally plum kettle", al) == []


def test_setting_a_password_records_when(pi_paula):
    pi_paula.set_password(STRONG)
    pi_paula.save()

    pi_paula.refresh_from_db()
    assert timezone.now() - pi_paula.password_changed_at < timedelta(seconds=5)


def test_an_expired_password_must_be_changed_when_the_site_rotates_them(client, pi_paula):
    settings = site_settings()
    settings.password_max_age_days = 90
    settings.save()
    type(pi_paula).objects.filter(pk=pi_paula.pk).update(
        password_changed_at=timezone.now() - timedelta(days=91)
    )
    client.force_login(pi_paula)

    assert client.get(reverse("projects:list"))["Location"] == reverse("accounts:password_change")
    client.post(
        reverse("accounts:password_change"), {"new_password1": STRONG, "new_password2": STRONG}
    )
    assert client.get(reverse("projects:list")).status_code == 200


def test_passwords_are_never_rotated_by_default(client, pi_paula):
    type(pi_paula).objects.filter(pk=pi_paula.pk).update(
        password_changed_at=timezone.now() - timedelta(days=3650)
    )
    client.force_login(pi_paula)

    assert client.get(reverse("projects:list")).status_code == 200
