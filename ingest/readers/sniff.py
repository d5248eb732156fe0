"""Checking that a file's content is what its extension says, before a reader parses it.

A PNG renamed ``.pdf``, an HTML page renamed ``.docx`` or a program renamed ``.txt`` is refused
with a one-line reason that names what the file really is, instead of a parser's confused error
(or, for text, an index full of garbage). Only well-known signatures ("magic numbers") are
trusted; text has none, so anything that is not a known binary format may be text.
"""

from __future__ import annotations

import re

from ..errors import ContentMismatchError

__all__ = ["check_content", "describe_content"]

# (signature at offset 0, what it is); the first match wins, so longer signatures come first
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-format or password-protected Office file (e.g. a Word 97-2003 .doc)",
    ),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "an executable program (ELF)"),
    (b"\xca\xfe\xba\xbe", "an executable program (Mach-O or Java class)"),
    (b"\xcf\xfa\xed\xfe", "an executable program (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "an executable program (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "an executable program (Mach-O)"),
    (b"\xfe\xed\xfa\xce", "an executable program (Mach-O)"),
    (b"\x00asm", "a WebAssembly program"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"OggS", "an Ogg audio or video file"),
    (b"fLaC", "a FLAC audio file"),
    (b"ID3\x03", "an MP3 audio file"),
    (b"ID3\x04", "an MP3 audio file"),
    (b"{\\rtf", "an RTF document"),
)
_HTML = re.compile(rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})


def describe_content(data: bytes) -> str | None:
    """What ``data`` is by its signature ("a PNG image", "an HTML page"), or None if unknown."""
    head = data[:4096]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith(b"MZ") and b"\x00" in head[:64]:  # DOS/Windows header: binary right away
        return "an executable program (Windows)"
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return "a bzip2 archive"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}[
            head[8:12]
        ]
    if head[4:8] == b"ftyp":
        return "an MP4 or QuickTime video"
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    if _HTML.match(head[:1024]):
        return "an HTML page"
    return None


def check_content(suffix: str, data: bytes) -> None:
    """Raise ``ContentMismatchError`` when ``data`` is plainly not a ``suffix`` file."""
    what = describe_content(data)
    if suffix == ".pdf":
        # Readers accept junk before the header (some generators write it); so do we, a little
        if b"%PDF-" in data[:1024]:
            return
        raise ContentMismatchError(_mismatch(suffix, what or "not a PDF (no %PDF header)"))
    if suffix == ".docx":
        if what in ("a zip archive", None) and data[:4] == b"PK\x03\x04":
            return
        if what and "Office file" in what:
            raise ContentMismatchError(
                _mismatch(suffix, f"{what}: remove any password and save it as .docx")
            )
        raise ContentMismatchError(_mismatch(suffix, what or "not a DOCX (no zip header)"))
    if suffix in TEXT_SUFFIXES and what and what != "an HTML page":
        raise ContentMismatchError(_mismatch(suffix, what))


def _mismatch(suffix: str, what: str) -> str:
    return f"the content does not match the {suffix} extension: the file is {what}"
