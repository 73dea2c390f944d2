"""The favicon: every page links it, and /favicon.ico (which browsers ask for anyway) finds it."""

from __future__ import annotations

import struct

import pytest
from defusedxml import ElementTree
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_static_icon_without_signing_in(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/opencrf/favicon.ico"


def test_every_page_links_both_icons(client):
    html = client.get(reverse("accounts:login")).content.decode()

    assert '<link rel="icon" href="/static/opencrf/favicon.ico" sizes="16x16 32x32 48x48">' in html
    assert '<link rel="icon" href="/static/opencrf/favicon.svg" type="image/svg+xml">' in html


def test_the_ico_holds_the_three_sizes_it_announces():
    with open(finders.find("opencrf/favicon.ico"), "rb") as file:
        data = file.read()

    reserved, kind, count = struct.unpack("<HHH", data[:6])
    sizes = {(data[6 + 16 * n] or 256, data[7 + 16 * n] or 256) for n in range(count)}
    assert (reserved, kind, count) == (0, 1, 3)
    assert sizes == {(16, 16), (32, 32), (48, 48)}


def test_the_svg_is_a_square_drawing_with_nothing_that_runs():
    with open(finders.find("opencrf/favicon.svg"), "rb") as file:
        root = ElementTree.parse(file).getroot()

    tags = {element.tag.split("}")[1] for element in root.iter()}
    assert root.get("viewBox") == "0 0 32 32"
    assert tags == {"svg", "title", "rect", "path"}
