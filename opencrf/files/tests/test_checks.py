from __future__ import annotations

import pytest

from opencrf.files import checks
from opencrf.files.checks import FileRefused, check_content, check_size, sanitise_name
from opencrf.files.tests import samples


@pytest.mark.parametrize(
    ("name", "head", "media_type"),
    [
        ("photo.png", samples.PNG, "image/png"),
        ("photo.JPG", samples.JPEG, "image/jpeg"),
        ("anim.gif", samples.GIF, "image/gif"),
        ("photo.webp", samples.WEBP, "image/webp"),
        ("scan.tiff", samples.TIFF, "image/tiff"),
        ("scan.bmp", samples.BMP, "image/bmp"),
        ("consent.pdf", samples.PDF, "application/pdf"),
        ("letter.docx", samples.DOCX, checks.DOCX),
        ("sheet.xlsx", samples.XLSX, checks.XLSX),
        ("slides.pptx", samples.PPTX, checks.PPTX),
        ("letter.doc", samples.OLE, "application/msword"),
        ("sheet.xls", samples.OLE, "application/vnd.ms-excel"),
        ("old-office-file", samples.OLE, "application/x-ole-storage"),
        ("ct.dcm", samples.DICOM, "application/dicom"),
        ("CT_0001", samples.DICOM, "application/dicom"),
        ("clip.mp4", samples.MP4, "video/mp4"),
        ("clip.mov", samples.MOV, "video/quicktime"),
        ("メモ.txt", samples.TEXT_JA, "text/plain"),
        ("体重.csv", samples.CSV_SJIS, "text/csv"),
        ("export.csv", samples.CSV_BOM, "text/csv"),
        ("notes", b"BMI,weight\n22.5,65\n", "text/plain"),
    ],
)
def test_allowlisted_content_is_accepted_with_its_media_type(name, head, media_type):
    assert check_content(name, head, complete=True) == media_type


@pytest.mark.parametrize(
    ("name", "head", "message"),
    [
        (
            "photo.jpg",
            samples.HTML,
            "“photo.jpg” cannot be stored: it looks like a web page (HTML).",
        ),
        (
            "drawing.txt",
            samples.SVG,
            "“drawing.txt” cannot be stored: "
            "it looks like an SVG image, which can contain scripts.",
        ),
        (
            "drawing.svg",
            samples.SVG,
            "“drawing.svg” cannot be stored: files named *.svg are not accepted.",
        ),
        (
            "report.pdf",
            samples.EXE,
            "“report.pdf” cannot be stored: it looks like a Windows program.",
        ),
        ("tool", samples.ELF, "“tool” cannot be stored: it looks like a Linux program."),
        (
            "run.txt",
            b"#!/bin/sh\nrm -rf /\n",
            "“run.txt” cannot be stored: it looks like a script.",
        ),
        (
            "data.zip",
            samples.plain_zip(),
            "“data.zip” cannot be stored: it looks like a ZIP archive.",
        ),
        (
            "notes.txt",
            b"\xef\xbb\xbf \n\t<ScRiPt>alert(1)</script>",
            "“notes.txt” cannot be stored: it looks like a web page (HTML).",
        ),
        (
            "scan.jpg",
            samples.PNG,
            "“scan.jpg” cannot be stored: its name ends in .jpg but its content is image/png.",
        ),
        (
            "sheet.xlsx",
            samples.DOCX,
            "“sheet.xlsx” cannot be stored: its name ends in .xlsx but its content is "
            + checks.DOCX
            + ".",
        ),
        (
            "results.pdf",
            b"just text\n",
            "“results.pdf” cannot be stored: its name ends in .pdf but its content is text/plain.",
        ),
        (
            "blob",
            b"\x01\x02\x03binary",
            "“blob” cannot be stored: it looks like a file of a type that is not accepted.",
        ),
    ],
)
def test_hostile_or_mismatched_content_is_refused_with_a_message_naming_the_file(
    name, head, message
):
    with pytest.raises(FileRefused) as refused:
        check_content(name, head, complete=True)
    assert refused.value.message == message


def test_text_with_nul_is_not_text():
    with pytest.raises(FileRefused):
        check_content("a.txt", b"abc\x00def", complete=True)


def test_a_character_cut_at_the_sniffing_edge_is_still_text():
    head = ("あ" * 2000).encode()[: checks.SNIFF_BYTES]
    assert check_content("a.txt", head, complete=False) == "text/plain"


def test_an_empty_file_is_refused_unless_allowed():
    with pytest.raises(FileRefused) as refused:
        check_content("empty.pdf", b"")
    assert refused.value.message == "“empty.pdf” cannot be stored: the file is empty."
    assert check_content("empty.pdf", b"", allow_empty=True) == "application/octet-stream"


def test_size_over_the_limit_is_refused_naming_both_sizes():
    with pytest.raises(FileRefused) as refused:
        check_size("big.mp4", 2048, 1024)
    assert refused.value.message == "“big.mp4” is too large (2.0\xa0KB); the limit is 1.0\xa0KB."


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("..", "file"),
        ("", "file"),
        ("   ", "file"),
        (".htaccess", "htaccess"),
        ("evil.php\x00.jpg", "evil.php .jpg"),
        ("a\x1b[31mred\x07.txt", "a [31mred .txt"),
        ("photo\u202egpj.exe", "photo gpj.exe"),
        ("  lots \t of\n space .pdf", "lots of space .pdf"),
        ("検査結果　第1回.pdf", "検査結果 第1回.pdf"),
        ("同意書.pdf", "同意書.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_names_are_sanitised(raw, clean):
    assert sanitise_name(raw) == clean


def test_only_allowlisted_types_are_served_as_themselves():
    assert checks.download_type("image/png") == "image/png"
    assert checks.download_type("text/html") == "application/octet-stream"
    assert checks.download_type("image/svg+xml") == "application/octet-stream"
