"""Formatters: turn lint results into text for people, or a document for tools."""

from __future__ import annotations

import json
from typing import TextIO

from ..linting import FileResult, report

MACHINE_FORMATS = ("json", "sarif", "github", "gitlab")
TEXT_FORMATS = ("full", "concise")
FORMATS = (*TEXT_FORMATS, *MACHINE_FORMATS)


def write(results: list[FileResult], fmt: str, out: TextIO, err: TextIO, color: str, statistics: bool) -> None:
    """Write `results` in format `fmt` to `out` (errors of text formats to `err`)."""
    if fmt in MACHINE_FORMATS:
        document = report(results)
        if fmt == "json":
            out.write(json.dumps(document, indent=2) + "\n")
        else:
            from importlib import import_module

            out.write(import_module(f".{fmt}", __name__).render(document))
        return
    console, err_console = console_for(out, color), console_for(err, color)
    if statistics:
        from .statistics import render as render_statistics

        render_statistics(results, console, err_console)
    else:
        from .text import render

        render(results, console, err_console, style=fmt)


def console_for(stream: TextIO, color: str):
    """A rich Console on `stream`: colour on a terminal only (`auto`, honouring NO_COLOR and
    FORCE_COLOR), or as --color says."""
    from rich.console import Console

    if color == "always":
        return Console(file=stream, highlight=False, force_terminal=True, no_color=False)
    if color == "never":
        return Console(file=stream, highlight=False, color_system=None, no_color=True)
    return Console(file=stream, highlight=False)
