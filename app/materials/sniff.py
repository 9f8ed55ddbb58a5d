"""What a file really is, from its bytes: the extension must agree, and programs never pass.

Binary formats are recognised by their signatures (`filetype`); plain text, Markdown and Jupyter
notebooks by decoding as UTF-8 (a notebook must also be JSON with a "cells" list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePath

import filetype

from app.core.errors import ValidationError


@dataclass(frozen=True)
class FileType:
    extension: str  # canonical: jpeg → jpg
    label: str
    content_type: str


TYPES: dict[str, FileType] = {
    t.extension: t
    for t in (
        FileType("pdf", "PDF", "application/pdf"),
        FileType(
            "pptx",
            "PowerPoint slides",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        FileType("ppt", "PowerPoint slides (old format)", "application/vnd.ms-powerpoint"),
        FileType(
            "docx",
            "Word document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        FileType("png", "PNG image", "image/png"),
        FileType("jpg", "JPEG image", "image/jpeg"),
        FileType("gif", "GIF image", "image/gif"),
        FileType("webp", "WebP image", "image/webp"),
        FileType("ipynb", "Jupyter notebook", "application/x-ipynb+json"),
        FileType("txt", "plain text", "text/plain; charset=utf-8"),
        FileType("md", "Markdown", "text/markdown; charset=utf-8"),
    )
}
ALIASES = {"jpeg": "jpg", "markdown": "md", "text": "txt"}
TEXT_TYPES = {"txt", "md", "ipynb"}

# Programs, whatever they are called: Windows PE, ELF, Mach-O (thin, fat, both byte orders),
# and scripts with a #! line.
EXECUTABLE_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)


def extension_of(name: str) -> str:
    """The lower-case extension of a file name, with aliases folded (photo.JPEG → jpg)."""
    suffix = PurePath(name or "").suffix.lower().lstrip(".")
    return ALIASES.get(suffix, suffix)


def allowed_extensions(configured: list[str]) -> list[str]:
    """The configured types this code knows how to check, canonical and in order."""
    seen: list[str] = []
    for ext in configured:
        ext = ALIASES.get(ext.lower().lstrip("."), ext.lower().lstrip("."))
        if ext in TYPES and ext not in seen:
            seen.append(ext)
    return seen


def _is_executable(data: bytes) -> bool:
    head = data.lstrip(b"\xef\xbb\xbf")[:4]
    return any(head.startswith(sig) for sig in EXECUTABLE_SIGNATURES)


def _sniff_text(data: bytes, ext: str) -> str | None:
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if ext == "ipynb":
        try:
            notebook = json.loads(text)
        except ValueError:
            return None
        if isinstance(notebook, dict) and isinstance(notebook.get("cells"), list):
            return "ipynb"
        return None
    return ext if ext in ("txt", "md") else "txt"


def sniff(name: str, data: bytes, *, allowed: list[str]) -> FileType:
    """Check that the file is what its name says and is an allowed type; return that type.

    Raises ValidationError with a message for the uploader when it is not."""
    ext = extension_of(name)
    allowed_list = allowed_extensions(allowed)
    choices = ", ".join(allowed_list) or "none"
    if _is_executable(data):
        raise ValidationError(
            f"{name} is a program, not a document; programs cannot be shared as materials.",
            field="file",
        )
    if not ext:
        raise ValidationError(
            f"{name} has no file extension; allowed types are {choices}.", field="file"
        )
    if ext not in allowed_list:
        raise ValidationError(
            f".{ext} files cannot be uploaded; allowed types are {choices}.", field="file"
        )
    if not data:
        raise ValidationError(f"{name} is empty.", field="file")
    guessed = filetype.guess(data)
    if guessed is not None:
        actual = ALIASES.get(guessed.extension, guessed.extension)
    elif ext in TEXT_TYPES:
        actual = _sniff_text(data, ext)
    else:
        actual = None
    if actual is None:
        if ext == "ipynb":
            detail = "it is not a Jupyter notebook (JSON with cells)"
        elif ext in TEXT_TYPES:
            detail = "it is not UTF-8 text"
        else:
            detail = "its contents are not a recognisable file of that type"
        raise ValidationError(f"{name} is named .{ext} but {detail}.", field="file")
    if actual != ext:
        label = TYPES[actual].label if actual in TYPES else f".{actual}"
        raise ValidationError(
            f"{name} is named .{ext} but its contents are {label}; rename it or upload "
            "the right file.",
            field="file",
        )
    return TYPES[actual]
