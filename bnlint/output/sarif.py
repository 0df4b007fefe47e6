"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer), from the JSON report."""

from __future__ import annotations

import json
from typing import Any

from ..rules import RULES, Rule
from .common import INFORMATION_URI, file_messages, findings, rule_url, text, uri

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"  # the URI GitHub's documentation uses
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "bnlintFinding/v1"  # versioned: a new way of computing it gets a new key


def render(report: dict[str, Any]) -> str:
    rules = list(RULES.values())  # all of them, so that a viewer can explain any rule, found or not
    index = {rule.code: number for number, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.diag["code"],
            **({"ruleIndex": index[f.diag["code"]]} if f.diag["code"] in index else {}),
            "level": LEVEL[f.diag["severity"]],
            "message": {"text": text(f.diag)},
            "locations": [_location(f.file["path"], f.diag)],
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        }
        for f in findings(report)
    ]
    notifications = [
        {"level": level, "message": {"text": message}, "locations": [_location(entry["path"])]}
        for entry, level, message in file_messages(report)
    ]
    invocation = {
        # An unreadable input (exit status 2) is a failed execution for this file set.
        "executionSuccessful": not any(entry.get("error") for entry in report["files"]),
        "toolExecutionNotifications": notifications,
    }
    driver = {
        "name": "bnlint",
        "version": report["version"],
        "informationUri": INFORMATION_URI,
        "rules": [_rule(rule) for rule in rules],
    }
    run = {"tool": {"driver": driver}, "invocations": [invocation], "results": results}
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what},
        "help": {"text": f"{rule.why}\n\nFix: {rule.fix_text}\n\n{rule.fix_safety}"},
        "helpUri": rule_url(rule.code, rule.name),
        "defaultConfiguration": {"level": LEVEL[rule.severity.value]},
    }


def _location(path: str, diag: dict[str, Any] | None = None) -> dict[str, Any]:
    """Scripts: a region. Notebooks: the line within the cell as given (SARIF has no cells;
    the message names the cell). Models: the file, and the layer as a logical location."""
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri(path)}}
    location: dict[str, Any] = {"physicalLocation": physical}
    if diag is None:
        return location
    if diag.get("line") is not None:
        physical["region"] = {"startLine": diag["line"]}
        if diag.get("column") is not None:
            physical["region"]["startColumn"] = diag["column"]  # bnlint counts columns from 1, as SARIF does
    elif diag.get("layer"):
        location["logicalLocations"] = [{"fullyQualifiedName": diag["layer"], "kind": "member"}]
    return location
