from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opencrf.ops.health import run_checks


@never_cache
@require_GET
def alive(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is checked."""
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Every dependency answers; 503 names the failing checks by class only."""
    results = run_checks()
    ok = all(result.ok for result in results)
    body = {
        "status": "ready" if ok else "not ready",
        "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
    }
    return JsonResponse(body, status=200 if ok else 503)
