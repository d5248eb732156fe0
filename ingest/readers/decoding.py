"""Turning bytes into text: UTF-8 and UTF-16 with or without BOM, else a detected 8-bit encoding."""

from __future__ import annotations

import codecs

from ..errors import EmptyDocumentError, UndecodableError

__all__ = ["decode_text"]

_CONTROL = set(range(0, 32)) - {9, 10, 12, 13}


def decode_text(data: bytes) -> str:
    """Decode ``data`` or raise ``UndecodableError`` (binary data, unknown encoding)."""
    if not data.strip():
        raise EmptyDocumentError("the file is empty")
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _checked(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise UndecodableError(f"invalid {encoding} text: {exc.reason}") from exc
    try:
        return _checked(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") > len(data) // 4:  # UTF-16 without a BOM
        # Latin-script text has its zero bytes second in each pair in little-endian order and
        # first in big-endian; both orders decode without error, only one into the right text.
        sample = data[:20000]
        big_endian = sample[0::2].count(0) > sample[1::2].count(0)
        order = ("utf-16-be", "utf-16-le") if big_endian else ("utf-16-le", "utf-16-be")
        for encoding in order:
            try:
                return _checked(data.decode(encoding))
            except (UnicodeDecodeError, UndecodableError):
                continue
    if b"\x00" in data:
        raise UndecodableError("binary data, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UndecodableError("undecodable bytes: not text in a known encoding")
    return _checked(str(best))


def _checked(text: str) -> str:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) in _CONTROL)
    if sample and controls / len(sample) > 0.01:
        raise UndecodableError("binary data, not text")
    return text
