"""What the machine-readable formats (SARIF, GitHub, GitLab) share: paths, the text of a
finding, the cell wording for notebooks and fingerprints. All work on the JSON report."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

INFORMATION_URI = "https://github.com/bnlint/bnlint"
RULES_URL = "https://github.com/bnlint/bnlint/blob/main/rules/"  # + "BN001-frozen-base-training-call.md"

# Line and cell numbers inside a headline ("(line 13)", "cell 5, line 3") move with unrelated
# edits; the fingerprint must not.
_POSITIONS = re.compile(r"\b(lines?|cell) \d+")


def rule_url(code: str, name: str) -> str:
    return f"{RULES_URL}{code}-{name}.md"


def relative_path(path: str) -> str:
    """A POSIX path; an absolute one inside the working directory is made relative to it, since
    CI annotations and GitLab want paths from the repository root (where bnlint runs in CI)."""
    posix = Path(path)
    if posix.is_absolute() and posix.is_relative_to(Path.cwd()):
        posix = posix.relative_to(Path.cwd())
    return posix.as_posix()


def uri(path: str) -> str:
    """SARIF takes URIs: a relative path becomes a percent-encoded relative URI, an absolute one a file:// URI."""
    posix = Path(path)
    return posix.as_uri() if posix.is_absolute() else quote(posix.as_posix())


def message(diag: dict[str, Any]) -> str:
    """Headline and detail as one line."""
    return f"{diag['message']}: {diag['detail']}" if diag.get("detail") else diag["message"]


def where(diag: dict[str, Any]) -> str | None:
    """A notebook finding's line counts within its cell, so the cell must be named."""
    return f"cell {diag['cell']}, line {diag['line']}" if diag.get("cell") is not None else None


def text(diag: dict[str, Any], *, layer: bool = False) -> str:
    """The message, prefixed with the cell for notebooks (and with the layer for models when
    `layer`: for formats that have no other place for it)."""
    prefix = where(diag) or (
        f"layer {diag['layer']}" if layer and diag.get("line") is None and diag.get("layer") else None
    )
    return f"({prefix}) {message(diag)}" if prefix else message(diag)


def file_line(diag: dict[str, Any]) -> int | None:
    """The line in the file itself: None for models (no lines) and notebooks (a cell's line)."""
    return diag.get("line") if diag.get("cell") is None else None


class Fingerprints:
    """Hex digests of a finding's identity; the same parts seen again in one report get an
    occurrence number, so that two identical findings still differ."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, *parts: str) -> str:
        key = "\0".join(_POSITIONS.sub(r"\1 #", part) for part in parts)
        self.seen[key] += 1
        return hashlib.sha256(f"{key}\0{self.seen[key]}".encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    file: dict[str, Any]  # the report's entry for the file
    diag: dict[str, Any]
    path: str  # relative_path(file["path"])
    fingerprint: str


def findings(report: dict[str, Any]) -> Iterator[Finding]:
    """Every diagnostic of the report with its fingerprint: rule, path, what it is anchored to
    (the layer of a model, the text of a source line, else the position) and the headline."""
    fingerprint = Fingerprints()
    for entry in report["files"]:
        path = relative_path(entry["path"])
        source = _source_lines(entry) if any(d.get("line") for d in entry["diagnostics"]) else None
        for diag in entry["diagnostics"]:
            anchor = _anchor(diag, source)
            yield Finding(entry, diag, path, fingerprint(diag["code"], path, anchor, diag["message"]))


def file_messages(report: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(file entry, "error" or "note", text): why a file could not be read, what was not checked."""
    for entry in report["files"]:
        if entry.get("error"):
            yield entry, "error", entry["error"]
        for note in entry.get("notes", []):
            yield entry, "note", note


def _anchor(diag: dict[str, Any], source: tuple[list[str], dict[int, int]] | None) -> str:
    if diag.get("line") is None:
        return diag.get("layer") or ""
    text = ""
    if source is not None:
        lines, starts = source
        index = starts.get(diag.get("cell"), 1) + diag["line"] - 2  # cell-relative lines from the cell's start
        text = lines[index].strip() if 0 <= index < len(lines) else ""
    return f"source {text}" if text else f"at {where(diag) or diag['line']}"


def _source_lines(entry: dict[str, Any]) -> tuple[list[str], dict[int, int]] | None:
    """The lines as the linter reads the file (within its limits) and {cell: its first line};
    None when the file cannot be read now: the fingerprint then falls back to the position."""
    from ..errors import InputError
    from ..scripts.notebook import read_notebook
    from ..scripts.source import read_script

    try:
        source = (read_notebook if entry.get("kind") == "notebook" else read_script)(entry["path"])
    except (InputError, OSError, ValueError):
        return None
    return source.text.split("\n"), {number: start for start, number in source.cells}
