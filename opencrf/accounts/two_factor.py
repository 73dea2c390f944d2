"""Two-factor authentication: TOTP devices (django-otp), recovery codes and the site policy.

Recovery codes are django-otp static tokens, but the table holds only a digest of each:
`StaticToken.token` is a 16-character column, so it keeps the first 12 bytes of the code's
SHA-256 in URL-safe base64. A code carries 80 random bits, so a stolen table does not give
the codes back. A typed code is normalised (case, spaces, dashes) and digested the same way
before django-otp looks it up, which deletes it on use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from urllib.parse import quote

import segno
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from opencrf.accounts.models import TwoFactorPolicy, User
from opencrf.accounts.services import security_event_create
from opencrf.accounts.site_cache import current_site_settings
from opencrf.core.middleware import client_address

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud safely
RECOVERY_CODE_LENGTH = 16  # 31**16 ≈ 2**79
ISSUER = "OpenCRF"
DEVICE_NAME = "authenticator"


def two_factor_required(user: User) -> bool:
    """Whether the site's policy requires `user` to use a second factor."""
    policy = current_site_settings().two_factor
    if policy == TwoFactorPolicy.EVERYONE:
        return True
    return policy == TwoFactorPolicy.ADMINISTRATORS and bool(user.is_superuser)


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def two_factor_enrolled(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def totp_enrolment_start(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled (a new secret unless one is pending)."""
    pending = totp_device(user, confirmed=False)
    if pending is not None:
        return pending
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def totp_uri(device: TOTPDevice) -> str:
    label = quote(f"{ISSUER}:{device.user.username}")
    secret = totp_secret_base32(device)
    return f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&digits={device.digits}"


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (the CSP allows data: images, nothing inline runs)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@transaction.atomic
def totp_enrolment_confirm(
    *, user: User, device: TOTPDevice, code: str, address: str
) -> list[str] | None:
    """Confirm the device with a code from the app; returns new recovery codes, or None."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token(code.strip()):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_event_create(kind="2fa.enrolled", user=user, address=address)
    return recovery_codes_create(user=user)


def _normalise(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def recovery_code_digest(code: str) -> str:
    digest = hashlib.sha256(_normalise(code).encode()).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


@transaction.atomic
def recovery_codes_create(*, user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones, returned once in plain text."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_digest(code)) for code in codes
    )
    return codes


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user).count())


def two_factor_verify(request: HttpRequest, user: User, code: str) -> bool:
    """Check a code from the app, or a recovery code; on success mark the session verified."""
    device = totp_device(user)
    if device is None:
        return False
    cleaned = code.strip().replace(" ", "")
    if cleaned.isdigit() and device.verify_token(cleaned):
        otp_login(request, device)
        return True
    return _recovery_code_use(request, user, code)


def _recovery_code_use(request: HttpRequest, user: User, code: str) -> bool:
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if static is None or not static.verify_token(recovery_code_digest(code)):
        return False
    otp_login(request, static)
    security_event_create(
        kind="2fa.recovery_used",
        user=user,
        address=client_address(request),
        details={"codes_left": recovery_codes_left(user)},
    )
    return True


@transaction.atomic
def two_factor_disable(*, user: User, actor: User | None = None, address: str = "") -> bool:
    """Remove every second factor of `user`; False when there was none."""
    deleted, _kinds = TOTPDevice.objects.filter(user=user).delete()
    recovery, _kinds = StaticDevice.objects.filter(user=user).delete()
    if not (deleted or recovery):
        return False
    security_event_create(kind="2fa.disabled", user=user, actor=actor, address=address)
    return True
