"""The codebook page: whoever may see the project's instruments may read it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.views import domain_errors
from opencrf.dictionary.codebook import codebook
from opencrf.dictionary.design import design_of
from opencrf.projects import selectors as project_selectors

MAX_QUERY = 200


@login_required
@domain_errors
def codebook_page(request: AuthedRequest, project_id: int) -> HttpResponse:
    # The same selector as the Instruments page: every member sees the design.
    project = project_selectors.access_project(request.user, project_id)
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    design = design_of(project)
    context = {
        "project": project,
        "nav": "codebook",
        "query": query,
        "instruments": codebook(project, design, query),
        "field_count": len(design.rows),
        "instrument_count": len(design.instruments),
    }
    return render(request, "dictionary/codebook.html", context)
