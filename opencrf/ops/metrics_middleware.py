"""Request latency and error counts for /metrics and the `error_rate_spike` alert."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from opencrf.ops.alerts import traffic
from opencrf.ops.metrics import observe_request


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        # Errors raised below have already become a 500 response here (Django's handler).
        observe_request(request.method, response.status_code, time.perf_counter() - started)
        traffic.count(response.status_code)
        return response
