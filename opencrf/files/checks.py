"""Upload checks by content, not by name: pure functions over a file's name, size and first bytes.

Map:
- `sanitise_name` — the name shown and offered on download; never used as a storage path.
- `check_size` — refuse empty and over-limit files before reading them.
- `check_content` — sniff the first bytes against an allowlist; return the media type.
- `download_type` — the Content-Type to serve a stored file with.
"""

from __future__ import annotations

import codecs
import struct
import unicodedata
from pathlib import PurePosixPath

from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from opencrf.core.errors import InvalidInput

SNIFF_BYTES = 4096
MAX_NAME_LENGTH = 200
_MAX_EXTENSION_LENGTH = 20

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
TIFF = "image/tiff"
BMP = "image/bmp"
HEIC = "image/heic"
AVIF = "image/avif"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OOXML = "application/vnd.openxmlformats-officedocument"  # flavour not visible in the first bytes
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
OLE = "application/x-ole-storage"
DICOM = "application/dicom"
MP4 = "video/mp4"
QUICKTIME = "video/quicktime"
TEXT = "text/plain"
CSV = "text/csv"
EMPTY = "application/octet-stream"

ALLOWED_MEDIA_TYPES = frozenset(
    {PNG, JPEG, GIF, WEBP, TIFF, BMP, HEIC, AVIF, PDF, DOCX, XLSX, PPTX, OOXML, DOC, XLS, PPT}
    | {OLE, DICOM, MP4, QUICKTIME, TEXT, CSV}
)

# Extensions that promise a type: the content must deliver it.
_EXPECTED_BY_EXTENSION: dict[str, frozenset[str]] = {
    ".png": frozenset({PNG}),
    ".jpg": frozenset({JPEG}),
    ".jpeg": frozenset({JPEG}),
    ".jpe": frozenset({JPEG}),
    ".gif": frozenset({GIF}),
    ".webp": frozenset({WEBP}),
    ".tif": frozenset({TIFF}),
    ".tiff": frozenset({TIFF}),
    ".bmp": frozenset({BMP}),
    ".heic": frozenset({HEIC}),
    ".avif": frozenset({AVIF}),
    ".pdf": frozenset({PDF}),
    ".docx": frozenset({DOCX, OOXML}),
    ".xlsx": frozenset({XLSX, OOXML}),
    ".pptx": frozenset({PPTX, OOXML}),
    ".doc": frozenset({OLE}),
    ".xls": frozenset({OLE}),
    ".ppt": frozenset({OLE}),
    ".dcm": frozenset({DICOM}),
    ".mp4": frozenset({MP4}),
    ".m4v": frozenset({MP4}),
    ".mov": frozenset({QUICKTIME, MP4}),
    ".txt": frozenset({TEXT, CSV}),
    ".csv": frozenset({TEXT, CSV}),
    ".tsv": frozenset({TEXT, CSV}),
}
_OLE_BY_EXTENSION = {".doc": DOC, ".xls": XLS, ".ppt": PPT}
_OOXML_BY_EXTENSION = {".docx": DOCX, ".xlsx": XLSX, ".pptx": PPTX}
_OOXML_BY_PART = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX))

# Names a browser or desktop would run or render as a page, whatever the content.
_REFUSED_EXTENSIONS = frozenset(
    {".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".js", ".mjs", ".hta"}
    | {".exe", ".dll", ".com", ".bat", ".cmd", ".scr", ".msi", ".ps1", ".vbs", ".wsf", ".jar"}
    | {".sh", ".php", ".py", ".pl", ".lnk"}
)
_MARKUP_STARTS = (b"<script", b"<html", b"<svg", b"<!doctype", b"<?xml", b"<head", b"<body")
_TEXT_CONTROLS_ALLOWED = frozenset(b"\t\n\r\f")
_MACH_O_MAGIC = frozenset(
    {b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"}
)
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})

_LOOKS_LIKE: dict[str, Promise] = {
    "html": gettext_lazy("a web page (HTML)"),
    "svg": gettext_lazy("an SVG image, which can contain scripts"),
    "windows": gettext_lazy("a Windows program"),
    "elf": gettext_lazy("a Linux program"),
    "macho": gettext_lazy("a macOS program"),
    "script": gettext_lazy("a script"),
    "zip": gettext_lazy("a ZIP archive"),
    "unknown": gettext_lazy("a file of a type that is not accepted"),
}


class FileRefused(InvalidInput):
    """The upload was refused; nothing was stored."""


# --- Names ---------------------------------------------------------------------------------


def _is_invisible(char: str) -> bool:
    # Cc: controls incl. NUL; Cf: format characters such as U+202E, which can disguise
    # "gpj.exe" as "exe.jpg"; Zl/Zp: line and paragraph separators.
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def sanitise_name(raw: str) -> str:
    """The last path component, without controls, whitespace collapsed, at most 200 characters.

    Unicode (Japanese included) is kept. Leading and trailing dots go, so `..` and `.htaccess`
    cannot survive; an empty result becomes "file".
    """
    name = "".join(" " if _is_invisible(c) else c for c in unicodedata.normalize("NFC", raw))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split()).strip(" .")
    if not name:
        return "file"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    suffix = PurePosixPath(name).suffix
    if len(suffix) > _MAX_EXTENSION_LENGTH:
        suffix = ""
    return name[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") + suffix


def extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


# --- Size ----------------------------------------------------------------------------------


def check_size(name: str, size: int, max_bytes: int, *, allow_empty: bool = False) -> None:
    if size == 0 and not allow_empty:
        raise FileRefused(_("“%(name)s” cannot be stored: the file is empty.") % {"name": name})
    if size > max_bytes:
        raise FileRefused(
            _("“%(name)s” is too large (%(size)s); the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(max_bytes)}
        )


# --- Content -------------------------------------------------------------------------------


def _sniff_binary(head: bytes) -> str | None:
    """The media type of an allowlisted binary format, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    if head[128:132] == b"DICM":
        return DICOM
    if head[4:8] == b"ftyp":
        return _sniff_iso_media(head[8:12])
    if _is_bmp(head):
        return BMP
    if head.startswith(b"PK\x03\x04") and b"[Content_Types].xml" in head:
        return next((kind for part, kind in _OOXML_BY_PART if part in head), OOXML)
    return None


def _sniff_iso_media(brand: bytes) -> str:
    if brand == b"qt  ":
        return QUICKTIME
    if brand in {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"}:
        return HEIC
    if brand in {b"avif", b"avis"}:
        return AVIF
    return MP4


def _is_bmp(head: bytes) -> bool:
    # "BM" alone would match text such as "BMI,weight"; the DIB header size pins it down.
    if len(head) < 18 or not head.startswith(b"BM"):
        return False
    (dib_size,) = struct.unpack_from("<I", head, 14)
    return dib_size in _BMP_HEADER_SIZES


def _decodes(head: bytes, encoding: str, complete: bool) -> bool:
    """True if `head` is valid in `encoding`; a character cut at the 4 KiB edge is allowed."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _is_text(head: bytes, complete: bool) -> bool:
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS_ALLOWED for byte in head):
        return False  # NUL and other controls: binary data
    return _decodes(head, "utf-8", complete) or _decodes(head, "shift_jis", complete)


def _text_start(head: bytes) -> bytes:
    return head.removeprefix(codecs.BOM_UTF8).lstrip().lower()


def _looks_like(head: bytes) -> str:
    """A translated phrase naming what a refused file appears to be."""
    start = _text_start(head)
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start):
        key = "svg"
    elif start.startswith(b"<"):
        key = "html"
    elif head.startswith(b"MZ"):
        key = "windows"
    elif head.startswith(b"\x7fELF"):
        key = "elf"
    elif head[:4] in _MACH_O_MAGIC:
        key = "macho"
    elif start.startswith(b"#!"):
        key = "script"
    elif head.startswith(b"PK\x03\x04"):
        key = "zip"
    else:
        key = "unknown"
    return str(_LOOKS_LIKE[key])


def _sniff(name: str, head: bytes, complete: bool) -> str | None:
    kind = _sniff_binary(head)
    if kind == OLE:
        return _OLE_BY_EXTENSION.get(extension(name), OLE)
    if kind == OOXML:
        return _OOXML_BY_EXTENSION.get(extension(name), OOXML)
    if kind is not None:
        return kind
    start = _text_start(head)
    if start.startswith(_MARKUP_STARTS) or start.startswith(b"#!"):
        return None
    if _is_text(head, complete):
        return CSV if extension(name) in {".csv", ".tsv"} else TEXT
    return None


def check_content(
    name: str, head: bytes, *, complete: bool = False, allow_empty: bool = False
) -> str:
    """The media type of the file whose first bytes are `head`, or FileRefused.

    `complete` says that `head` is the whole file (so a character cut at its end is an error).
    """
    if not head:
        check_size(name, 0, 0, allow_empty=allow_empty)
        return EMPTY
    suffix = extension(name)
    if suffix in _REFUSED_EXTENSIONS:
        raise FileRefused(
            _("“%(name)s” cannot be stored: files named *%(extension)s are not accepted.")
            % {"name": name, "extension": suffix}
        )
    media_type = _sniff(name, head, complete)
    if media_type is None:
        raise FileRefused(
            _("“%(name)s” cannot be stored: it looks like %(kind)s.")
            % {"name": name, "kind": _looks_like(head)}
        )
    expected = _EXPECTED_BY_EXTENSION.get(suffix)
    if expected is not None and media_type not in _family(expected):
        raise FileRefused(
            _(
                "“%(name)s” cannot be stored: its name ends in %(extension)s"
                " but its content is %(type)s."
            )
            % {"name": name, "extension": suffix, "type": media_type}
        )
    return media_type


def _family(expected: frozenset[str]) -> frozenset[str]:
    # Legacy Office files are named by extension, so any of the three matches "OLE".
    if OLE in expected:
        return expected | {DOC, XLS, PPT}
    return expected


def download_type(media_type: str) -> str:
    """Serve only allowlisted types as themselves; anything else as opaque bytes."""
    return media_type if media_type in ALLOWED_MEDIA_TYPES else "application/octet-stream"
