"""Calling the API as a client does: a POST to /api/, the body read whole."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client


@dataclass
class Answer:
    status_code: int
    content: bytes
    content_type: str


def post(data, **extra) -> Answer:
    """POST to the API; a streamed body is read whole."""
    response = Client().post("/api/", data, **extra)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Answer(response.status_code, body, response["Content-Type"])
