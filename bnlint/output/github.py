"""GitHub Actions workflow commands: one annotation per finding, from the JSON report."""

from __future__ import annotations

from typing import Any

from .common import file_line, file_messages, findings, relative_path, text

COMMAND = {"error": "error", "warning": "warning", "info": "notice", "note": "notice"}


def render(report: dict[str, Any]) -> str:
    lines = []
    for f in findings(report):
        line = file_line(f.diag)
        title = f"{f.diag['code']} {f.diag['name']}"
        if f.diag.get("line") is None and f.diag.get("layer"):
            title += f" ({f.diag['layer']})"  # a model has no lines: the layer says where
        properties = {"file": f.path, "line": line or 1}  # models and notebooks: the file's first line
        if line is not None and f.diag.get("column") is not None:
            properties["col"] = f.diag["column"]  # from 1, as GitHub counts
        properties["title"] = title
        lines.append(_command(COMMAND[f.diag["severity"]], properties, text(f.diag)))
    for entry, level, message in file_messages(report):
        lines.append(_command(COMMAND[level], {"file": relative_path(entry["path"])}, message))
    return "".join(f"{line}\n" for line in lines)


def _command(name: str, properties: dict[str, Any], message: str) -> str:
    values = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {values}::{_escape_data(message)}"


def _escape_data(value: str) -> str:
    # As @actions/core escapes: otherwise a newline ends the command and `%0A` would be read as one.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    # `:` would end the properties and `,` start the next one.
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
