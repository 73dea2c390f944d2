"""The password policy an administrator sets (SiteSettings), as Django password validators.

`SitePasswordValidator` applies the minimum length and, when the site must follow the
Japanese ministries' guidelines, the character-class rule. `ContainsUserNameValidator` refuses a
password that contains the user name or the local part of the e-mail address.
`BreachedPasswordValidator` refuses passwords found in an offline breached-password list: the
file named by OPENCRF_BREACHED_PASSWORDS holds upper- or lower-case SHA-1 hex digests, one per
line, optionally followed by `:count` (the format of the Have I Been Pwned download). The file
is never loaded into memory: when it is sorted (as that download is), a binary search by seeking
reads about 40 lines of a 30 GB file; `BREACHED_PASSWORDS_SORTED=False` below would switch
to a linear streaming scan, which every line order allows but takes minutes on such a file.
"""

from __future__ import annotations

import hashlib
import os
import string
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from opencrf.accounts.models import User
from opencrf.accounts.site_cache import current_site_settings

BREACHED_PASSWORDS_ENV = "OPENCRF_BREACHED_PASSWORDS"
DIGEST_LENGTH = 40
SYMBOLS = frozenset(string.punctuation + " ")


def character_classes_missing(password: str) -> list[str]:
    """The classes (upper, lower, digit, symbol) that `password` lacks, as translated names."""
    checks = [
        (any(c.isupper() for c in password), _("an upper-case letter")),
        (any(c.islower() for c in password), _("a lower-case letter")),
        (any(c.isdigit() for c in password), _("a digit")),
        (any(c in SYMBOLS or not c.isalnum() for c in password), _("a symbol")),
    ]
    return [name for present, name in checks if not present]


class SitePasswordValidator:
    """Minimum length and optional character classes, from the administrator's settings."""

    def validate(self, password: str, user: Any = None) -> None:
        policy = current_site_settings()
        errors = []
        if len(password) < policy.password_min_length:
            errors.append(
                ValidationError(
                    ngettext(
                        "This password is too short: use at least %(min_length)d character.",
                        "This password is too short: use at least %(min_length)d characters.",
                        policy.password_min_length,
                    )
                    % {"min_length": policy.password_min_length},
                    code="password_too_short",
                )
            )
        missing = character_classes_missing(password) if policy.password_character_classes else []
        if missing:
            errors.append(
                ValidationError(
                    _("This password needs %(classes)s.") % {"classes": ", ".join(missing)},
                    code="password_character_classes",
                )
            )
        if errors:
            raise ValidationError(errors)

    def password_changed(self, password: str, user: Any = None) -> None:
        """Django calls this whenever a set password is saved: the rotation clock restarts."""
        if user is None or user.pk is None:
            return
        user.password_changed_at = timezone.now()
        User.objects.filter(pk=user.pk).update(password_changed_at=user.password_changed_at)

    def get_help_text(self) -> str:
        policy = current_site_settings()
        text = ngettext(
            "Use at least %(min_length)d character; a few unrelated words make a good password.",
            "Use at least %(min_length)d characters; a few unrelated words make a good password.",
            policy.password_min_length,
        ) % {"min_length": policy.password_min_length}
        if policy.password_character_classes:
            text += " " + _("Include upper- and lower-case letters, digits and symbols.")
        return text


# Shorter names ("al") occur inside too many good passwords to be worth refusing.
MIN_NAME_PART = 3


def _name_parts(user: Any) -> list[str]:
    username = str(getattr(user, "username", "") or "")
    local_part = str(getattr(user, "email", "") or "").partition("@")[0]
    parts = {part.casefold() for part in (username, local_part) if len(part) >= MIN_NAME_PART}
    return sorted(parts)


class ContainsUserNameValidator:
    """Refuse a password that contains the user name or the e-mail address's local part.

    Django's UserAttributeSimilarityValidator compares whole strings and lets `dave12345678`
    through for user `dave` (similarity 0.5); a plain, case-insensitive containment check
    does not.
    """

    def validate(self, password: str, user: Any = None) -> None:
        folded = password.casefold()
        if user is not None and any(part in folded for part in _name_parts(user)):
            raise ValidationError(
                _("This password contains your user name or e-mail address; choose another one."),
                code="password_contains_user_name",
            )

    def get_help_text(self) -> str:
        return _("It may not contain your user name or e-mail address.")


def _line_digest(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().upper()


def _sorted_file_contains(handle: IO[bytes], size: int, digest: bytes) -> bool:
    """Binary search over byte offsets: each probe reads the first whole line after it."""
    low, high = 0, size
    while low < high:
        middle = (low + high) // 2
        handle.seek(middle)
        if middle:
            handle.readline()  # the rest of a line cut by the seek
        line = handle.readline()
        found = _line_digest(line)
        if not line or found > digest:
            high = middle
        elif found == digest:
            return True
        else:
            low = middle + 1
    handle.seek(0)
    return _line_digest(handle.readline()) == digest


def _any_line_is(handle: IO[bytes], digest: bytes) -> bool:
    return any(_line_digest(line) == digest for line in handle)


BREACHED_PASSWORDS_SORTED = True


def password_is_breached(password: str, path: Path) -> bool:
    """Whether the SHA-1 of `password` is listed in the file at `path` (see the module)."""
    digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper().encode()
    with path.open("rb") as handle:
        if BREACHED_PASSWORDS_SORTED:
            return _sorted_file_contains(handle, path.stat().st_size, digest)
        return _any_line_is(handle, digest)


def breached_passwords_file() -> Path | None:
    value = os.environ.get(BREACHED_PASSWORDS_ENV, "").strip()
    return Path(value) if value else None


class BreachedPasswordValidator:
    """Refuse passwords that appear in the operator's offline breached-password list."""

    def validate(self, password: str, user: Any = None) -> None:
        path = breached_passwords_file()
        if path is not None and password_is_breached(password, path):
            raise ValidationError(
                _("This password has appeared in a data breach; choose another one."),
                code="password_breached",
            )

    def get_help_text(self) -> str:
        if breached_passwords_file() is None:
            return ""
        return _("Passwords known from data breaches are refused.")


def password_expired(user: User) -> bool:
    """Whether the site's rotation rule (if any) requires `user` to choose a new password."""
    max_age = current_site_settings().password_max_age_days
    if not max_age or not user.has_usable_password():
        return False
    changed = user.password_changed_at or user.date_joined
    return timezone.now() - changed > timedelta(days=max_age)
