"""Every download names its file the same way: an ASCII fallback, then the exact UTF-8 name."""

from __future__ import annotations

import pytest

from opencrf.core.downloads import ascii_filename, content_disposition


def test_a_japanese_name_is_sent_whole_with_an_ascii_fallback():
    assert content_disposition("同意書 v2.pdf") == (
        "attachment; filename=\"v2.pdf\"; filename*=UTF-8''%E5%90%8C%E6%84%8F%E6%9B%B8%20v2.pdf"
    )


def test_an_inline_preview_uses_the_same_spelling():
    assert content_disposition("ecg scan.png", "inline") == (
        "inline; filename=\"ecg scan.png\"; filename*=UTF-8''ecg%20scan.png"
    )


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ('a"b.csv', "a%22b.csv"),
        ("a;b.csv", "a%3Bb.csv"),
        ("a\r\nSet-Cookie: x.csv", "a%0D%0ASet-Cookie%3A%20x.csv"),
        ("a/../b.csv", "a%2F..%2Fb.csv"),
    ],
)
def test_quotes_separators_and_line_breaks_never_leave_the_header_value(name, encoded):
    header = content_disposition(name)

    assert header.endswith(f"filename*=UTF-8''{encoded}")
    assert header.count('"') == 2
    assert "\r" not in header
    assert "\n" not in header


def test_the_fallback_never_starts_with_a_dash():
    assert ascii_filename("減塩試験-salt-rct.csv") == "salt-rct.csv"
