"""Human output: one line per finding, errors as `PATH: error: reason`, a summary."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape

from ..diagnostics import Diagnostic, Severity
from ..linting import FileResult

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def location(result: FileResult, diagnostic: Diagnostic) -> str:
    if diagnostic.cell is not None:
        return f"{result.path}:cell {diagnostic.cell}:{diagnostic.line}:{diagnostic.column or 0}"
    if diagnostic.line is not None:
        return f"{result.path}:{diagnostic.line}:{diagnostic.column or 0}"
    return f"{result.path}:{diagnostic.layer}" if diagnostic.layer else result.path


def render(results: list[FileResult], out: Console, err: Console) -> None:
    counts: Counter[Severity] = Counter()
    for result in results:
        if result.error:  # a script with a syntax error may still have findings above it
            err.print(f"[bold]{escape(result.path)}[/]: [red]error[/]: {escape(result.error)}", soft_wrap=True)
        for diagnostic in result.diagnostics:
            counts[diagnostic.severity] += 1
            style = STYLE[diagnostic.severity]
            out.print(
                f"[bold]{escape(location(result, diagnostic))}[/]: [{style}]{diagnostic.code}[/] "
                f"[dim]{diagnostic.severity.value}[/] {escape(diagnostic.message)}",
                soft_wrap=True,
            )
        if result.diagnostics and result.context:
            out.print(f"[dim]  context: {escape(result.context)}[/]", soft_wrap=True)
        for note in result.notes:  # what could not be checked (not a finding: exit status unchanged)
            out.print(f"[bold]{escape(result.path)}[/]: [magenta]note[/]: {escape(note)}", soft_wrap=True)
    out.print(summary(results, counts), soft_wrap=True)


def summary(results: list[FileResult], counts: Counter[Severity]) -> str:
    total = sum(counts.values())
    failed = sum(1 for r in results if r.error and not r.partial)
    partial = sum(1 for r in results if r.partial)
    unchecked = sum(1 for r in results if r.notes and not r.error)
    linted = len(results) - failed
    parts = [f"{counts[s]} {s.value}{'s' * (counts[s] != 1)}" for s in Severity if counts[s]]
    text = (
        f"Found {total} finding{'s' * (total != 1)} ({', '.join(parts)})"
        if total
        else "[green]No BatchNormalization problems found[/]"
    )
    text += f" in {linted} file{'s' * (linted != 1)}"
    if unchecked:  # never "no problems" alone when something was not checked
        text += f"; {unchecked} {'was' if unchecked == 1 else 'were'} only partly checked (see the notes)"
    if partial:
        text += f"; [red]{partial} only in part[/] (see the errors)"
    if failed:
        text += f"; [red]{failed} could not be read[/]"
    return text + "."
