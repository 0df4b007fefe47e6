"""GitLab Code Quality report (`artifacts:reports:codequality`), from the JSON report.

GitLab reads description, check_name, fingerprint, severity, location.path and
location.lines.begin (docs.gitlab.com/ci/testing/code_quality, "Implement a custom tool");
findings with the same fingerprint are shown once, so every fingerprint is unique."""

from __future__ import annotations

import json
from typing import Any

from .common import Fingerprints, file_line, file_messages, findings, relative_path, text

SEVERITY = {"error": "major", "warning": "minor", "info": "info"}  # GitLab: info minor major critical blocker
FILE_CHECKS = {"error": ("bnlint-unreadable", "major"), "note": ("bnlint-note", "info")}


def render(report: dict[str, Any]) -> str:
    issues = [
        # Models and notebooks have no line of the file to point to: line 1, the text says where.
        _issue(
            f.diag["code"],
            text(f.diag, layer=True),
            f.fingerprint,
            SEVERITY[f.diag["severity"]],
            f.path,
            file_line(f.diag) or 1,
        )
        for f in findings(report)
    ]
    fingerprint = Fingerprints()
    for entry, level, message in file_messages(report):
        check, severity = FILE_CHECKS[level]
        path = relative_path(entry["path"])
        description = f"bnlint error: {message}" if level == "error" else f"Not checked: {message}"
        issues.append(_issue(check, description, fingerprint(check, path, message), severity, path, 1))
    return json.dumps(issues, indent=2) + "\n"  # a file like `--output-format json`


def _issue(check: str, description: str, fingerprint: str, severity: str, path: str, line: int) -> dict[str, Any]:
    return {
        "description": description,
        "check_name": check,
        "fingerprint": fingerprint,
        "severity": severity,
        "location": {"path": path, "lines": {"begin": line}},
    }
