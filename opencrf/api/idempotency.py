"""`Idempotency-Key`: a retried write gets the first answer and writes nothing again.

The key is kept per user and project with a digest of the request's parameters; the answer is
stored in the same transaction as the write, so either both exist or neither does. The same
key with different parameters is refused. Keys are kept for a day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.models import IdempotentCall

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(days=1)
MAX_KEY = 200


def _digest(call: Call) -> str:
    digest = hashlib.sha256()
    for name, values in sorted(call.request.POST.lists()):
        if name == "token":
            continue
        for value in values:
            digest.update(f"{name}\0{value}\0".encode())
    for name in sorted(call.request.FILES):
        digest.update(name.encode())
        for upload in call.request.FILES.getlist(name):
            for chunk in upload.chunks():
                digest.update(chunk)
    return digest.hexdigest()


def once(call: Call, write: Callable[[Call], HttpResponseBase]) -> HttpResponseBase:
    """Run `write`, or answer as it answered the first time this key was used."""
    key = call.request.headers.get(HEADER, "").strip()
    project = call.project
    if not key or project is None:
        return write(call)
    if len(key) > MAX_KEY:
        raise ApiError(f"The {HEADER} header is longer than {MAX_KEY} characters.")
    digest = _digest(call)
    fresh = timezone.now() - KEPT_FOR
    kept = IdempotentCall.objects.filter(
        user=call.user, project=project, key=key, created_at__gte=fresh
    ).first()
    if kept is not None:
        return _replay(kept, digest)
    try:
        with transaction.atomic():
            IdempotentCall.objects.filter(
                user=call.user, project=project, key=key, created_at__lt=fresh
            ).delete()
            response = write(call)
            if response.status_code == 200 and isinstance(response, HttpResponse):
                IdempotentCall.objects.create(
                    user=call.user,
                    project=project,
                    key=key,
                    request_digest=digest,
                    status=response.status_code,
                    content_type=response["Content-Type"],
                    body=response.content,
                )
    except IntegrityError:  # the same key arrived twice at once: answer as the first did
        kept = IdempotentCall.objects.get(user=call.user, project=project, key=key)
        return _replay(kept, digest)
    return response


def _replay(kept: IdempotentCall, digest: str) -> HttpResponseBase:
    if kept.request_digest != digest:
        raise ApiError(f"This {HEADER} was used for a different request.")
    response = HttpResponse(bytes(kept.body), status=kept.status, content_type=kept.content_type)
    response["Idempotent-Replayed"] = "true"
    return response
