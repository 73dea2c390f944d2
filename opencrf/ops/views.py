from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opencrf.ops.health import CHECKS, run_checks
from opencrf.ops.metrics import CONTENT_TYPE, metrics_allowed, render_metrics


@never_cache
@require_GET
def alive(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is checked."""
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Every dependency answers; 503 lists the failing checks with a reason safe to publish.

    `?checks=database,migrations,storage` runs only those: what a load balancer should ask,
    so that a stale backup or a silent worker never takes every node out of service.
    """
    names = None
    if "checks" in request.GET:
        names = [name.strip() for name in request.GET["checks"].split(",") if name.strip()]
        unknown = sorted(set(names) - set(CHECKS))
        if unknown or not names:
            known = ", ".join(CHECKS)
            return JsonResponse({"error": f"unknown check; known: {known}"}, status=400)
    results = run_checks(names=names)
    ok = all(result.ok for result in results)
    body = {
        "status": "ready" if ok else "not ready",
        "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
        "failing": [r.name for r in results if not r.ok],
    }
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; loopback, the bearer token or an allowed network only."""
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE)
