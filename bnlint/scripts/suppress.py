"""Suppression comments.

On a line: `# noqa: BN001` or `# noqa: BN001,BN014`, `# bnlint: ignore[BN001]`, and the
bare `# bnlint: ignore` (every rule). For the whole file: `# bnlint: ignore-file` or
`# bnlint: ignore-file[BN002,BN003]`, anywhere in the file (in a
notebook: in any cell). A bare `# noqa` is left to flake8 and ruff: it does not
silence bnlint, whose findings are rarely what a generic noqa was written for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ALL = "*"
COMMENT = re.compile(
    r"#\s*(?:noqa\s*:\s*(?P<noqa>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)"
    r"|bnlint\s*:\s*(?P<verb>ignore-file|ignore)(?:\[(?P<codes>[^\]]*)\])?)",
    re.IGNORECASE,
)


@dataclass
class Suppressions:
    lines: dict[int, set[str]] = field(default_factory=dict)
    file: set[str] = field(default_factory=set)

    def hides(self, code: str, line: int | None) -> bool:
        if self.file and _matches(code, self.file):
            return True
        codes = self.lines.get(line or 0)
        return bool(codes) and _matches(code, codes)


def _matches(code: str, codes: set[str]) -> bool:
    return ALL in codes or any(code.startswith(c) for c in codes)


def scan(text: str) -> Suppressions:
    """Find the suppression comments; cheap when there are none (most files)."""
    found = Suppressions()
    if "noqa" not in text and "bnlint" not in text:
        return found
    for match in COMMENT.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if match["noqa"]:
            codes = {c.upper() for c in re.split(r"[\s,]+", match["noqa"]) if c}
            codes = {c for c in codes if c.startswith("BN")}
            if codes:
                found.lines.setdefault(line, set()).update(codes)
            continue
        listed = {c.strip().upper() for c in (match["codes"] or "").split(",") if c.strip()}
        codes = listed or {ALL}
        if match["verb"].lower() == "ignore-file":
            found.file.update(codes)
        else:
            found.lines.setdefault(line, set()).update(codes)
    return found
